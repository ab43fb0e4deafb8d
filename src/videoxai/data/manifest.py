"""A split's videos as one input file: its content changes exactly when a listed clip, or the list, changes.

Extraction and explanation read thousands of clips that Snakemake does not see, so a clip re-encoded under
the same name would leave the stored logits of the old one in place. The *manifest* of a split
(``results/datasets/{test}/{split}.manifest.json``) lists each clip's id, label, size and sha256; the jobs that
decode clips take it as an input. The workflow writes it once (rule ``video_manifest``) and refreshes it while
it plans (:func:`refresh_manifest`): rewritten only when its content would differ, so a changed, replaced or
removed video reruns what reads that split and nothing else, and an unchanged dataset reruns nothing.

Hashing every clip on every plan would cost minutes on UCF101; a :class:`~videoxai.checksums.HashCache` keyed
by (inode, size, mtime, ctime) reads only the clips whose key changed, so a plan costs one ``stat`` per clip.
A ``touch`` alone changes the key but not the hash, and so not the manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videoxai.checksums import HashCache
from videoxai.data.splits import SplitInfo
from videoxai.io import write_text

FORMAT = 1
# dataset entry keys that are not options of its format's reader (as extraction's open_split)
_NOT_OPTIONS = {"name", "format", "root", "split-id", "generate", "ground-truth"}


def reader_options(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """The options a dataset entry passes to its format's reader."""
    return {k: v for k, v in dataset.items() if k not in _NOT_OPTIONS}


def load_info(dataset: Mapping[str, Any], split: str) -> SplitInfo:
    """The split's listing, as extraction reads it."""
    from videoxai.data.datasets import load_split_info

    return load_split_info(
        dataset["format"], dataset["root"], split, dataset.get("split-id", 1), **reader_options(dataset)
    )


def build_manifest(info: SplitInfo, dataset: Mapping[str, Any], split: str, cache: HashCache) -> dict[str, Any]:
    """The manifest of a loaded split: per clip ``[sample_id, label, size, sha256]`` (size and hash null for a
    clip missing on disk), in the listing's order, with the class names and the dataset entry."""
    clips = []
    for s in info.samples:
        try:
            st = os.stat(s.path)
        except OSError:
            clips.append([s.sample_id, s.label, None, None])
            continue
        clips.append([s.sample_id, s.label, st.st_size, cache.sha256(s.path, st)])
    return {
        "format": FORMAT,
        "dataset": {k: v for k, v in dataset.items() if k != "generate"},
        "split": split,
        "classes": list(info.class_names),
        "clips": clips,
    }


def dumps(manifest: Mapping[str, Any]) -> str:
    """The manifest as text: one clip a line, so two versions diff by clip."""
    head = {k: v for k, v in manifest.items() if k != "clips"}
    lines = [json.dumps(c, separators=(",", ":")) for c in manifest["clips"]]
    body = json.dumps(head, sort_keys=True, default=str)[:-1]
    return body + ', "clips": [\n' + ",\n".join(lines) + "\n]}\n"


def write_manifest(path: str | os.PathLike[str], dataset: Mapping[str, Any], split: str, cache: HashCache) -> None:
    """Write the manifest of ``dataset``'s ``split`` (rule ``video_manifest``: always, so it is newer than the
    dataset it was made from)."""
    write_text(path, dumps(build_manifest(load_info(dataset, split), dataset, split, cache)))


def refresh_manifest(
    path: str | os.PathLike[str],
    dataset: Mapping[str, Any],
    split: str,
    cache: HashCache,
    info: SplitInfo | None = None,
) -> bool:
    """Rewrite an existing manifest when its content would differ (a clip or the listing changed); True when it
    was rewritten. Unchanged, it keeps its mtime: nothing downstream reruns."""
    text = dumps(build_manifest(info if info is not None else load_info(dataset, split), dataset, split, cache))
    try:
        if Path(path).read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    write_text(path, text)
    return True


def changed_clips(path: str | os.PathLike[str], cache: HashCache | None = None) -> list[str]:
    """The clips whose entry in the manifest at ``path`` is no longer what the dataset holds (content, label,
    listed or not), every clip read unless ``cache`` knows it; empty when the manifest is current."""
    from videoxai.io import read_json

    written = read_json(path)
    dataset, split = written["dataset"], written["split"]
    now = build_manifest(load_info(dataset, split), dataset, split, cache or HashCache(None))
    before = {c[0]: c[1:] for c in written["clips"]}
    after = {c[0]: c[1:] for c in now["clips"]}
    changed = [k for k in after if before.get(k) != after[k]] + [k for k in before if k not in after]
    if not changed and written.get("classes") != now["classes"]:
        changed = ["(the class list)"]
    return changed
