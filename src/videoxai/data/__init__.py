"""videoxai.data: datasets and splits, video decoding, frame sampling, the demo generator.

Modules: ``datasets`` (load_split, Sample), ``decode`` (read_frames, count_frames,
DecodeError), ``sampling`` (segment_centres), ``loader`` (ClipDataset, make_loader),
``demo`` (make_clip, write_demo_dataset, load_mask). Import them directly; this
package imports nothing heavy on its own.
"""
