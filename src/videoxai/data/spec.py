"""What a model expects of its input frames: a plain dataclass, below both the data loaders and the models.

The data loaders build frames for an :class:`InputSpec` and every model carries
one, so it lives here, in ``data`` (the lowest layer), and
``videoxai.models.base`` re-exports it: configs and code that name
``videoxai.models.base.InputSpec`` keep working.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from videoxai.conventions import RENAMED

PIPELINES: tuple[str, ...] = ("standard", "prompt-tuning")


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: ``num_frames`` frames, square ``size`` crops, normalised by mean/std.

    ``pipeline`` chooses how frames are sampled and transformed:

    - ``standard`` (default): segment-centre sampling, antialiased resize of
      the shorter side, centre crop, float32 (see :mod:`videoxai.data.loader`);
    - ``prompt-tuning``: the prompt-tuning repository's own frames, as its models were
      trained and evaluated (see :mod:`videoxai.data.prompt_tuning_frames`):
      ``linspace(0, N-1, num_frames * num_views)`` sampling, ``num_views``
      temporal x ``spatial_views`` spatial views (1 or 3 crops), its resize
      paths, values rounded to ``dtype``; a clip with fewer than
      ``num_frames * num_views`` frames is an error row.

    ``num_views`` is the number of temporal views in both pipelines;
    ``spatial_views``, ``dtype``, ``remove_black_strips`` and
    ``resize_protocol`` (prompt-tuning's ``dataset-config`` keys
    ``remove-black-strips`` / ``resized-cache-protocol``) apply only to
    ``prompt-tuning``. Defaults keep every existing checkpoint and config as it was.
    """

    num_frames: int
    size: int
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    num_views: int = 1
    fixed_size: bool = False  # True when the architecture accepts only ``size`` (e.g. s3d, mvit)
    pipeline: str = "standard"  # "standard" | "prompt-tuning"
    spatial_views: int = 1  # prompt-tuning: 1 (centre) or 3 (start, centre, end along the longer side)
    dtype: str = "float32"  # prompt-tuning: "bfloat16", the precision its transforms compute in
    remove_black_strips: bool = False  # prompt-tuning: crop dark rows above/below the picture first
    resize_protocol: str | None = None  # prompt-tuning: "preserve-aspect-ratio" | "interpolate-smallest-side" | ...

    def __post_init__(self) -> None:
        if self.pipeline in RENAMED:
            raise ValueError(
                f"InputSpec.pipeline {self.pipeline!r} is now called {RENAMED[self.pipeline]!r}: "
                f"set input_spec.pipeline to {RENAMED[self.pipeline]}"
            )
        if self.pipeline not in PIPELINES:
            raise ValueError(f"InputSpec.pipeline must be one of {PIPELINES}, got {self.pipeline!r}")
        if self.spatial_views not in (1, 3):
            raise ValueError(f"InputSpec.spatial_views must be 1 or 3, got {self.spatial_views!r}")
        if self.pipeline == "standard" and self.spatial_views != 1:
            raise ValueError(
                "InputSpec.spatial_views > 1 needs pipeline='prompt-tuning' (standard crops come from TTA)"
            )
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"InputSpec.dtype must be float32, bfloat16 or float16, got {self.dtype!r}")

    @property
    def total_views(self) -> int:
        """Views per clip the model averages over: temporal x spatial."""
        return self.num_views * self.spatial_views

    def to_dict(self) -> dict:
        return asdict(self)
