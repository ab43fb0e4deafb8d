"""videoxai.models: architectures behind one interface, their registry, safe checkpoints, resolution.

- ``base``: VideoClassifier, TokenLayout, GradCamTarget (the contract); InputSpec is
  re-exported from ``videoxai.data.spec``
- ``registry``: ``build_model(method, config)``; methods ``video_coop``, ``dual_coop``, ``stt``
  (demo space-time tower, or ``model.backbone: clip`` for a transformers CLIPModel), ``vidop``, ``vilt``,
  ``vita`` (a CLIPModel only), and torchvision's ``r3d_18``, ``r2plus1d_18``, ``mc3_18``, ``s3d``, ``mvit_v2_s``, ``swin3d_t``
- ``checkpoint``: ``save_checkpoint``, ``load_checkpoint`` (safetensors / weights_only only)
- ``resolve``: ``resolve_model``, ``find_checkpoint``, ``load_resolved``
- ``custom``: ``package.module:factory`` models named in the workflow config

Demo training and the shipped demo checkpoints live in :mod:`videoxai.demo`.
"""
