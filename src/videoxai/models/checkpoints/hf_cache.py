"""Where a CLIP backbone's files are: the Hugging Face cache or a local folder (no torch import).

A prompt-tuning run folder names its backbone only by ``clip-model`` (e.g.
``openai/clip-vit-base-patch16``); the weights are not in the run folder.
They are found, never downloaded, here:

* a local folder, when ``clip-model`` is a path to one (as transformers'
  ``from_pretrained`` treats a name that exists as a directory);
* otherwise the snapshot of that repository in the Hugging Face cache, found by
  huggingface_hub itself (``snapshot_download(local_files_only=True)``), so its
  rules hold: ``HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``; nothing goes online, ``HF_HUB_OFFLINE`` or not.

The workflow asks this while it plans (the backbone's files are inputs of the
job that records them, whose record resolve reads, so a changed backbone reruns what depends on it),
hence no torch.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from videoxai.models.checkpoints.files import sha256_file

# files of another framework's weights: transformers' CLIPModel (PyTorch) never reads them
_OTHER_FRAMEWORKS = (".h5", ".msgpack", ".onnx", ".ot", ".tflite", ".mlmodel", ".gguf")
_WEIGHT_PATTERNS = ("model*.safetensors", "pytorch_model*.bin")


class BackboneNotFoundError(FileNotFoundError):
    """The backbone a run names is neither a local folder nor in the Hugging Face cache."""


@dataclass(frozen=True)
class Backbone:
    """A located backbone: ``name`` as the run config gives it, the folder holding its files."""

    name: str
    path: Path
    source: str  # "hf-cache" | "folder"
    revision: str | None  # the snapshot's commit hash (None for a local folder)

    def files(self) -> list[Path]:
        """The files transformers loads from the folder (other frameworks' weights left out), sorted.

        With safetensors weights present, ``pytorch_model*.bin`` are left out too:
        transformers prefers safetensors and never reads them.
        """
        found = sorted(
            p
            for p in self.path.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(self.path).parts)
            and p.suffix not in _OTHER_FRAMEWORKS
        )
        if any(p.match("model*.safetensors") for p in found):
            found = [p for p in found if not p.match("pytorch_model*.bin")]
        return found

    def weights(self) -> list[Path]:
        """The weights files among :meth:`files` (shards included)."""
        return [p for p in self.files() if any(p.match(pat) for pat in _WEIGHT_PATTERNS)]

    @property
    def key(self) -> str:
        """A file name for this backbone's files: its name and snapshot, or its folder's path hashed.

        A new snapshot (or another folder) is a new key, so what was made from the old one reruns.
        """
        if self.revision is not None:
            return f"{re.sub(r'[^A-Za-z0-9_.-]+', '--', self.name)}@{self.revision}"
        digest = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:16]
        return f"{re.sub(r'[^A-Za-z0-9_.-]+', '--', self.path.name)}@folder-{digest}"

    def record(self) -> dict:
        """What ``resolved.json`` keeps: name, source, folder, snapshot id and each file's sha256."""
        return {
            "name": self.name,
            "source": self.source,
            "path": str(self.path),
            "revision": self.revision,
            "files": {str(p.relative_to(self.path)): sha256_file(p) for p in self.files()},
        }


def recorded_weights(record: dict) -> list[Path]:
    """The weights files among those a :meth:`Backbone.record` lists (to check they are still the same)."""
    folder = Path(record["path"])
    return [folder / name for name in record["files"] if any(Path(name).match(pat) for pat in _WEIGHT_PATTERNS)]


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, as huggingface_hub computed it from the environment."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _not_found(name: str, why: str) -> BackboneNotFoundError:
    cache = hub_cache_dir()
    return BackboneNotFoundError(
        f"CLIP backbone {name!r} is not available offline: {why}. Looked for a local folder {name!r} and in "
        f"the Hugging Face cache {cache} (set by HF_HUB_CACHE, else $HF_HOME/hub; HF_HOME is "
        f"{os.environ.get('HF_HOME', 'unset')}). Fix: on a machine with network, run "
        f"`hf download {name}` (or `huggingface-cli download {name}`) with the same HF_HOME, "
        "or point HF_HOME at the cache that holds it, or set clip-model in the run's config.json "
        "to a local folder holding config.json and the weights."
    )


def locate_backbone(name: str) -> Backbone:
    """The folder of backbone ``name`` (a local folder or a cached Hub id); never downloads."""
    if not isinstance(name, str) or not name:
        raise BackboneNotFoundError(f"backbone name must be a Hub id or a folder, got {name!r}")
    folder = Path(name).expanduser()
    if folder.is_dir():
        backbone = Backbone(name, folder.absolute(), "folder", None)
    else:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

        try:
            snapshot = Path(snapshot_download(name, cache_dir=hub_cache_dir(), local_files_only=True))
        except LocalEntryNotFoundError:
            raise _not_found(name, "no snapshot of it in the cache") from None
        except HFValidationError as e:
            raise _not_found(name, f"it is not a folder and not a valid Hub id ({e})") from None
        backbone = Backbone(name, snapshot, "hf-cache", snapshot.name)
    if not (backbone.path / "config.json").is_file():
        raise _not_found(name, f"{backbone.path} has no config.json")
    if not backbone.weights():
        raise _not_found(
            name, f"{backbone.path} has no weights (model.safetensors or pytorch_model.bin): a partial download?"
        )
    return backbone
