"""Is a file the workflow reads whole? Cheap structural checks, one place, no torch.

A file can look finished and not be: a bad copy, a sync tool, a full disk on
another host, a hand edit. Atomic writes (:mod:`videoxai.io`) rule out a
half-written output of *this* workflow, but not what happens to it later. So
every stage checks what it reads, and a broken file is an error that names
it and the command that rebuilds it (:class:`BrokenFileError`).

Checks by kind (``deep`` adds what costs more than reading a header):

* Parquet: both magic numbers and the footer's length; ``deep`` (and every
  reader) adds the footer itself, the columns a reader needs, and for
  predictions the ``videoxai`` metadata (class names matching the logits'
  width), then reads every page;
* safetensors: the JSON header, every tensor's byte range inside the file
  and the data ending exactly at its end (a truncated copy fails here), and
  for ``heatmaps.safetensors`` the contract's tensors, dtypes, ranks and
  metadata;
* mp4: the top-level boxes (``ftyp``, ``moov``, ``mdat``) tiling the file
  exactly; ``deep`` decodes every frame;
* PNG: signature and the closing ``IEND`` chunk; ``deep`` decodes it;
* PDF: header and ``%%EOF`` trailer; JSON: parses; other text: non-empty UTF-8.

The workflow uses the cheap checks while it plans (a broken output is
rebuilt, see ``workflow/rules/verify.smk``) and the deep ones in
``snakemake verify``.
"""

from __future__ import annotations

import json
import os
import shlex
import struct
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Folders the workflow writes: a broken file there is rebuilt by deleting it and rerunning.
PRODUCT_FOLDERS = ("results", "figures", "logs")

PREDICTIONS_META_KEY = b"videoxai"
# The columns readers of a predictions file use (extract.predictions writes more).
PREDICTIONS_COLUMNS = ("sample_id", "label", "label_name", "pred", "confidence", "logits", "status")
# heatmaps.safetensors (explain.store): tensor -> (safetensors dtype, rank)
HEATMAPS_TENSORS = {"heatmaps": ("F16", 4), "temporal_importance": ("F32", 2), "frames": ("U8", 5)}
HEATMAPS_METADATA = ("clips", "params")

CHECKED_SUFFIXES = (".parquet", ".safetensors", ".mp4", ".png", ".pdf", ".json", ".csv", ".tex", ".html")


class BrokenFileError(ValueError):
    """A file exists but is not whole; the message names it and how to get a good one."""

    def __init__(self, path: str | os.PathLike[str], problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}. {rebuild_hint(self.path)}")


def is_product(path: str | os.PathLike[str]) -> bool:
    """True for a file under a folder the workflow writes (results/, figures/, logs/ of the working directory)."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return False
    return bool(p.parts) and p.parts[0] in PRODUCT_FOLDERS


def rebuild_target(path: str | os.PathLike[str]) -> str:
    """What to force for ``path``: the file, or the ``directory()`` output it lies in.

    Snakemake dates and rebuilds a folder output (marked by its ``.snakemake_timestamp``) as a whole.
    """
    p = Path(path)
    for parent in p.parents:
        if (parent / ".snakemake_timestamp").is_file():
            return str(parent)
        if parent.name in PRODUCT_FOLDERS or parent == parent.parent:
            break
    return str(p)


def rebuild_all_command(paths: Iterable[str | os.PathLike[str]]) -> str:
    """One command that rebuilds every one of ``paths`` and everything made from them.

    ``--forcerun FILE`` makes the job that writes FILE run (deleting FILE first) and, FILE being newer, the
    jobs downstream of it. Deleting the file instead is not enough: Snakemake does not rebuild a missing
    intermediate whose products are up to date.
    """
    targets = dict.fromkeys(shlex.quote(rebuild_target(p)) for p in paths)
    return f"snakemake --cores all --forcerun {' '.join(targets)}"


def rebuild_command(path: str | os.PathLike[str]) -> str:
    """The one command that rebuilds a workflow output and everything made from it."""
    return rebuild_all_command([path])


def rebuild_hint(path: str | os.PathLike[str]) -> str:
    if is_product(path):
        return f"It is a workflow output: rebuild it (and what was made from it) with: {rebuild_command(path)}"
    return "It is not a file this workflow writes: replace it with a good copy"


# ---------------------------------------------------------------------------------------------- Parquet


def parquet_frame(path: str | os.PathLike[str]) -> None:
    """Magic numbers at both ends and a footer length that fits: no pyarrow import (planning stays fast)."""
    size = _size(path)
    if size < 12:
        raise BrokenFileError(path, f"only {size} bytes: not a Parquet file")
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(-8, os.SEEK_END)
        (footer,) = struct.unpack("<I", fh.read(4))
        tail = fh.read(4)
    if head != b"PAR1":
        raise BrokenFileError(path, "does not start like a Parquet file")
    if tail != b"PAR1":
        raise BrokenFileError(path, "has no Parquet footer (the file was cut short)")
    if footer > size - 12:
        raise BrokenFileError(path, f"its footer length {footer} does not fit the {size}-byte file")


def check_parquet(
    path: str | os.PathLike[str], columns: Iterable[str] = (), metadata_key: bytes | None = None
) -> dict[str, Any] | None:
    """Footer and schema of a Parquet file; returns the JSON under ``metadata_key`` (if asked for)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet_frame(path)
    try:
        schema = pq.read_schema(str(path))
    except (pa.ArrowException, OSError) as e:
        raise BrokenFileError(path, f"unreadable Parquet footer ({e})") from None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise BrokenFileError(path, f"lacks column(s) {missing} (it has {schema.names})")
    if metadata_key is None:
        return None
    raw = (schema.metadata or {}).get(metadata_key)
    if raw is None:
        raise BrokenFileError(path, f"lacks the {metadata_key.decode()!r} file metadata")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise BrokenFileError(path, f"its {metadata_key.decode()!r} metadata is not JSON ({e})") from None


def check_predictions(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A predictions file (extract.predictions): footer, columns, metadata; returns the metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = check_parquet(path, PREDICTIONS_COLUMNS, PREDICTIONS_META_KEY)
    names = meta.get("class_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not names:
        raise BrokenFileError(path, "its metadata lists no class_names")
    logits = pq.read_schema(str(path)).field("logits").type
    width = logits.list_size if isinstance(logits, pa.FixedSizeListType) else None
    if width != len(names):
        raise BrokenFileError(path, f"logits have width {width} but the metadata lists {len(names)} class names")
    return meta


@contextmanager
def reading(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a reader's low-level failure (pyarrow, safetensors, PyAV, EOF) into a :class:`BrokenFileError`.

    For the errors a structural check cannot see before reading, e.g. a data
    page corrupted in the middle of a Parquet file.
    """
    try:
        yield
    except BrokenFileError:
        raise
    except (OSError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise BrokenFileError(path, f"cannot be read ({type(e).__name__}: {e})") from e
    except Exception as e:
        if type(e).__module__.split(".")[0] in ("pyarrow", "safetensors", "av", "PIL", "json"):
            raise BrokenFileError(path, f"cannot be read ({type(e).__name__}: {e})") from e
        raise


# ------------------------------------------------------------------------------------------ safetensors

_DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


def safetensors_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed header of a safetensors file, with every tensor's bytes checked to lie inside the file."""
    size = _size(path)
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            raise BrokenFileError(path, f"only {size} bytes: not a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        if n > min(size - 8, 100_000_000):
            raise BrokenFileError(path, f"header length {n} does not fit a {size}-byte file: not a safetensors file")
        try:
            header = json.loads(fh.read(n).decode("utf-8"))
        except ValueError as e:
            raise BrokenFileError(path, f"unreadable safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise BrokenFileError(path, "safetensors header is not a JSON object")
    data = size - 8 - n
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, stop = (int(x) for x in info["data_offsets"])
            dtype, shape = info["dtype"], [int(d) for d in info["shape"]]
        except (KeyError, TypeError, ValueError):
            raise BrokenFileError(path, f"tensor {name!r} has a malformed header entry") from None
        count = 1
        for d in shape:
            count *= d
        if dtype in _DTYPE_BYTES and stop - start != count * _DTYPE_BYTES[dtype]:
            raise BrokenFileError(path, f"tensor {name!r} {dtype}{shape} does not match its byte range")
        end = max(end, stop)
        if not 0 <= start <= stop <= data:
            raise BrokenFileError(path, f"tensor {name!r} ends past the end of the file (the file was cut short)")
    if end != data:
        raise BrokenFileError(path, f"{data - end} bytes after the last tensor: the file is not what was written")
    return header


def check_safetensors(
    path: str | os.PathLike[str],
    tensors: Mapping[str, tuple[str, int]] | None = None,
    metadata: Iterable[str] = (),
) -> dict[str, Any]:
    """Header, byte ranges, and the expected tensors (name -> (dtype, rank)) and metadata keys; returns the header."""
    header = safetensors_header(path)
    for name, (dtype, rank) in (tensors or {}).items():
        info = header.get(name)
        if info is None:
            have = sorted(k for k in header if k != "__metadata__")
            raise BrokenFileError(path, f"lacks tensor {name!r} (it has {have})")
        if info["dtype"] != dtype or len(info["shape"]) != rank:
            raise BrokenFileError(
                path,
                f"tensor {name!r} is {info['dtype']} of rank {len(info['shape'])}, expected {dtype} of rank {rank}",
            )
    meta = header.get("__metadata__") or {}
    for key in metadata:
        if key not in meta:
            raise BrokenFileError(path, f"lacks the {key!r} metadata")
        try:
            json.loads(meta[key])
        except (TypeError, ValueError):
            raise BrokenFileError(path, f"its {key!r} metadata is not JSON") from None
    return header


def check_heatmaps(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``heatmaps.safetensors`` (explain.store): the contract's tensors, same clip count, metadata."""
    header = check_safetensors(path, HEATMAPS_TENSORS, HEATMAPS_METADATA)
    counts = {header[k]["shape"][0] for k in HEATMAPS_TENSORS}
    clips = json.loads(header["__metadata__"]["clips"])
    if len(counts) != 1 or (isinstance(clips, list) and counts != {len(clips)}):
        raise BrokenFileError(path, f"tensors and clip list disagree on the number of clips ({counts}, {len(clips)})")
    return header


def open_heatmaps(path: str | os.PathLike[str], framework: str = "pt") -> Any:
    """``safetensors.safe_open`` of a heatmaps file, checked first (a broken file names itself)."""
    from safetensors import safe_open

    check_heatmaps(path)
    with reading(path):
        return safe_open(str(path), framework=framework)


# ------------------------------------------------------------------------------------------------ media


def mp4_boxes(path: str | os.PathLike[str]) -> list[str]:
    """The top-level box types of an mp4, checked to tile the file exactly."""
    size = _size(path)
    boxes = []
    with open(path, "rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            head = fh.read(16)
            if len(head) < 8:
                raise BrokenFileError(path, f"a box header at byte {pos} is cut short")
            length, kind = struct.unpack(">I4s", head[:8])
            if length == 1:
                if len(head) < 16:
                    raise BrokenFileError(path, f"a box header at byte {pos} is cut short")
                (length,) = struct.unpack(">Q", head[8:16])
            elif length == 0:
                length = size - pos
            if length < 8 or pos + length > size:
                raise BrokenFileError(
                    path, f"box '{kind.decode('latin-1')}' at byte {pos} runs past the end (the file was cut short)"
                )
            boxes.append(kind.decode("latin-1"))
            pos += length
    return boxes


def check_mp4(path: str | os.PathLike[str], deep: bool = False) -> None:
    """Boxes tile the file and include ftyp, moov, mdat; ``deep``: every frame decodes and there is one."""
    if _size(path) == 0:
        raise BrokenFileError(path, "is empty")
    boxes = mp4_boxes(path)
    lacking = [b for b in ("ftyp", "moov", "mdat") if b not in boxes]
    if lacking:
        raise BrokenFileError(path, f"lacks the mp4 box(es) {lacking} (it has {boxes})")
    if deep:
        import av

        n = 0
        with reading(path), av.open(str(path)) as container:
            if not container.streams.video:
                raise BrokenFileError(path, "holds no video stream")
            for _ in container.decode(video=0):
                n += 1
        if n == 0:
            raise BrokenFileError(path, "holds no decodable frame")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def check_png(path: str | os.PathLike[str], deep: bool = False) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
        fh.seek(max(0, _size(path) - 12))
        tail = fh.read(12)
    if head != _PNG_SIGNATURE:
        raise BrokenFileError(path, "is not a PNG file")
    if tail != _PNG_END:
        raise BrokenFileError(path, "has no PNG end chunk (the file was cut short)")
    if deep:
        from PIL import Image

        with reading(path), Image.open(path) as im:
            im.load()


def check_pdf(path: str | os.PathLike[str]) -> None:
    size = _size(path)
    with open(path, "rb") as fh:
        head = fh.read(5)
        fh.seek(max(0, size - 1024))
        tail = fh.read()
    if head != b"%PDF-":
        raise BrokenFileError(path, "is not a PDF file")
    if b"%%EOF" not in tail:
        raise BrokenFileError(path, "has no PDF trailer (the file was cut short)")


def check_json(path: str | os.PathLike[str]) -> Any:
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BrokenFileError(path, f"not valid JSON ({e})") from None


def check_text(path: str | os.PathLike[str]) -> None:
    data = Path(path).read_bytes()
    if not data.strip():
        raise BrokenFileError(path, "is empty")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BrokenFileError(path, f"is not UTF-8 text ({e})") from None


# ------------------------------------------------------------------------------------------- by suffix


def check_file(path: str | os.PathLike[str], deep: bool = False) -> None:
    """Check one file by its kind (suffix and name); raise :class:`BrokenFileError` when it is not whole."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    suffix = p.suffix.lower()
    with reading(p):
        if suffix == ".parquet":
            if not deep:
                parquet_frame(p)
            else:
                import pyarrow.parquet as pq

                check_predictions(p) if "predictions" in p.parts else check_parquet(p)
                pq.read_table(str(p))
        elif suffix == ".safetensors":
            check_heatmaps(p) if p.name == "heatmaps.safetensors" else safetensors_header(p)
        elif suffix == ".mp4":
            check_mp4(p, deep=deep)
        elif suffix == ".png":
            check_png(p, deep=deep)
        elif suffix == ".pdf":
            check_pdf(p)
        elif suffix == ".json":
            check_json(p)
        elif suffix in CHECKED_SUFFIXES:
            check_text(p)


def problems(paths: Iterable[str | os.PathLike[str]], deep: bool = False) -> list[tuple[str, str]]:
    """``(path, problem)`` for every path that is missing or broken."""
    found = []
    for path in paths:
        if not Path(path).is_file():
            found.append((str(path), "missing"))
            continue
        try:
            check_file(path, deep=deep)
        except BrokenFileError as e:
            found.append((str(path), e.problem))
        except OSError as e:
            found.append((str(path), f"cannot be read ({e})"))
    return found


def broken_outputs(folders: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """``(path, problem)`` of every broken file under ``folders`` (cheap checks; temporaries skipped)."""
    from videoxai.io import is_temporary

    found = []
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith(".") or is_temporary(name) or not name.lower().endswith(CHECKED_SUFFIXES):
                    continue
                path = os.path.join(root, name)
                try:
                    check_file(path)
                except BrokenFileError as e:
                    found.append((path, e.problem))
                except OSError:
                    continue  # vanished or unreadable: Snakemake reports it in its own words
    return found


def _size(path: str | os.PathLike[str]) -> int:
    return os.stat(path).st_size


class OutputsBrokenError(RuntimeError):
    """``verify`` found outputs that are missing or broken (listed before it is raised)."""


def verify_outputs(files: Iterable[str | os.PathLike[str]], out=None) -> None:
    """Check every file deeply (videos and images decoded), list what is missing or broken, raise if any is.

    The message ends with the one command that rebuilds them all, so ``snakemake verify`` is a full answer.
    """
    import sys

    out = out or sys.stderr
    files = [str(f) for f in files]
    found = problems(files, deep=True)
    width = max((len(p) for p, _ in found), default=0)
    print(f"verify: {len(files)} outputs of the current config checked, {len(found)} missing or broken", file=out)
    for path, problem in found:
        print(f"  {path:<{width}}  {problem}", file=out)
    if found:
        fix = rebuild_all_command(p for p, _ in found)
        raise OutputsBrokenError(f"{len(found)} output(s) missing or broken (listed above); rebuild them with: {fix}")
