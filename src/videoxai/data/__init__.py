"""videoxai.data: datasets and splits, video decoding and encoding, frame sampling, masks.

Modules: ``datasets`` (load_split, Sample), ``decode`` (read_frames, count_frames,
DecodeError), ``encode`` (write_frames, write_lossless), ``sampling`` (segment_centres),
``spec`` (InputSpec), ``loader`` (ClipDataset, make_loader), ``masks`` (mask_path,
load_mask, write_mask). The demo generator lives in :mod:`videoxai.demo`. Import
the modules directly; this package imports nothing heavy on its own.
"""
