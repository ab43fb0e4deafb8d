"""videoxai.demo: the embedded demo, a real run of the real code path on data and models made here.

- ``dataset``: the synthetic action dataset in UCF101's layout, with ground-truth masks
  (``make_clip``, ``write_demo_dataset``, ``DEMO_CLASSES``)
- ``train``: ``train_demo``, tiny models of each prompt-tuning family trained on it on the CPU
- ``bundled``: the shipped tiny checkpoints (``checkpoints/``, package data)

The demo sits on top of the library: it uses ``data`` and ``models``, and no
library package below it imports it (only ``preflight``, ``videoxai.load_model``
and the workflow do; docs/development.md, "Layers"). Import the modules
directly; this package imports nothing heavy on its own, so planning can read
``bundled`` and ``dataset.FORMAT_VERSION`` without torch.
"""
