"""What resolving a model key found: one typed record, written as ``resolved.json`` and read back (no torch import).

The resolve job writes it; every job that runs the model reads it and never
looks at the checkpoint's ``config.json`` again (``model_config`` holds it).
The JSON keys are the record's fields; the optional ones (``format``,
``backbone``, ``factory``, ``artifact``) are written only when set.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from videoxai.io import read_json, write_json
from videoxai.models.checkpoints.files import CheckpointError
from videoxai.models.families.registry import family_of

_OPTIONAL = ("format", "backbone", "factory", "artifact")


@dataclass(frozen=True)
class ResolvedModel:
    """A model key's checkpoint: where it is, its fingerprint, and what builds it."""

    key: str  # method/train/run
    source: str  # explicit | registry | torch-hub | wandb-artifact
    checkpoint: str  # absolute path of the weights file
    sha256: str  # of the weights file
    config_file: str | None  # absolute path of its config.json (None for torch hub weights)
    method: str  # the family's method, or "custom"
    class_names: list[str]  # empty for a prompt-tuning run (the test set's are used)
    input_spec: dict[str, Any] | None
    model_config: dict[str, Any]  # the whole config.json (a run folder's: its run config)
    format: str | None = None  # "prompt-tuning-run" for a run folder of prompt-tuning's training code
    backbone: dict[str, Any] | None = None  # a prompt-tuning run's CLIP: name, source, folder, revision, sha256s
    factory: str | None = None  # custom: the workflow's package.module:factory
    artifact: dict[str, Any] | None = field(default=None)  # wandb: the registry marker (name, version, digest)

    @property
    def family(self) -> str | None:
        """demo | prompt-tuning | torchvision | custom, decided by the registry from the recorded config."""
        return family_of(self.method, self.model_config, self.factory)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``resolved.json``."""
        record = dataclasses.asdict(self)
        return {k: v for k, v in record.items() if not (k in _OPTIONAL and v is None)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "resolved record") -> ResolvedModel:
        """A record from a ``resolved.json`` object; a missing or unknown field names the file and the fix."""
        names = {f.name for f in dataclasses.fields(cls)}
        required = names - set(_OPTIONAL)
        missing, unknown = sorted(required - set(data)), sorted(set(data) - names)
        if missing or unknown:
            what = "; ".join(
                part
                for part in (
                    f"missing field(s) {', '.join(missing)}" if missing else "",
                    f"unknown field(s) {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
            raise CheckpointError(f"{where} is not a resolved.json videoxai wrote ({what}): rerun the resolve step")
        return cls(**{k: data[k] for k in names if k in data})

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ResolvedModel:
        return cls.from_dict(read_json(path), where=str(path))

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write ``resolved.json`` atomically."""
        write_json(path, self.to_dict())
