"""videoxai.models: architectures behind one interface, one checkpoint pipeline, model families beside it.

- ``base``: VideoClassifier, TokenLayout, GradCamTarget (the contract); InputSpec is
  re-exported from ``videoxai.data.spec``
- ``checkpoints``: ``files`` (folder layout, the one list of weight-file suffixes, sha256), ``config``
  (the one reader of ``config.json``, schema-checked; weights headers), ``weights`` (safetensors /
  ``torch.load(weights_only=True)``, ``save_checkpoint``, ``load_checkpoint``, ``build_with_weights``),
  ``locate`` (registry, ``checkpoints-root``, ``checkpoint-paths``, torch hub), ``hf_cache`` (a CLIP
  backbone in the Hugging Face cache), ``wandb_artifact``, ``record`` (``ResolvedModel``: ``resolved.json``)
  and ``resolve`` (``resolve``, ``load_resolved``, ``load_key`` behind ``videoxai.load_model``)
- ``families``: ``registry`` (``family_of`` decides the family of a checkpoint, ``build_model`` builds
  through it), ``demo`` (the demo's space-time tower), ``prompt_tuning`` (prompt-tuning's families on a
  CLIP backbone, and ``run_folder``: its run folders and ``checkpoint_paths.json``), ``torchvision_video``
  (``r3d_18``, ``r2plus1d_18``, ``mc3_18``, ``s3d``, ``mvit_v2_s``, ``swin3d_t``) and ``custom``
  (``package.module:factory`` models named in the workflow config)

Demo training and the shipped demo checkpoints live in :mod:`videoxai.demo`.
"""
