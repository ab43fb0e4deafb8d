"""Model keys ``{method}/{dataset-train}/{run-id}``, as the seed names models."""

from __future__ import annotations

import re
from dataclasses import dataclass

KEY_PART = r"[A-Za-z0-9_.-]+"
_KEY_RE = re.compile(rf"^({KEY_PART})/({KEY_PART})/({KEY_PART})$")


class ModelKeyError(ValueError):
    pass


@dataclass(frozen=True)
class ModelKey:
    method: str
    train: str
    run: str

    @classmethod
    def parse(cls, key: str) -> "ModelKey":
        """Parse and validate: three parts, safe characters, no ``.``/``..`` parts.

        Validation here is what keeps a key from escaping the checkpoint
        registry root (``../../etc``) or naming an absolute path.
        """
        m = _KEY_RE.match(key)
        if not m or any(p in {".", ".."} for p in m.groups()):
            raise ModelKeyError(
                f"invalid model key {key!r}: expected '{{method}}/{{dataset-train}}/{{run-id}}', "
                f"three parts of letters, digits, '_', '.', '-' (e.g. 'video_coop/ucf101/best-attention-0')"
            )
        return cls(*m.groups())

    def __str__(self) -> str:
        return f"{self.method}/{self.train}/{self.run}"

    @property
    def slug(self) -> str:
        """A single path component (for file names and wandb ids)."""
        return f"{self.method}-{self.train}-{self.run}"
