"""Is a file whole, and is it what was written? Cheap checks of any file, one place, no torch.

A file can look finished and not be: a bad copy, a sync tool, a full disk on another host, a hand edit, another
run's file copied over it. Atomic writes (:mod:`videoxai.io`) rule out a half-written output of *this* workflow,
but not what happens to it later. So every stage checks what it reads, and a broken file is an error that names
it and the command that rebuilds it (:class:`~videoxai.rebuild.BrokenFileError`).

Two kinds of check:

* content: a file with a content record (:mod:`videoxai.checksums`, every output under ``results/`` and
  ``figures/``) must have the recorded size and sha256 (:func:`check_recorded`);
* structure, by kind (``deep`` adds what costs more than reading a header): Parquet magic numbers and footer
  length, ``deep`` the footer, schema and every page (their checksums verified); safetensors header, every
  tensor's byte range inside the file and the data ending exactly at its end; mp4 top-level boxes (``ftyp``,
  ``moov``, ``mdat``) tiling the file, ``deep`` every frame decoded; PNG signature and ``IEND``, ``deep``
  decoded; PDF header and ``%%EOF``; JSON parses; other text is non-empty UTF-8.

What a stage's own files must hold (the predictions' columns and metadata, the heatmaps' tensors) is checked
where that contract lives (:mod:`videoxai.extract.predictions`, :mod:`videoxai.explain.store`); which outputs
must be rebuilt (damaged, or made from inputs that changed since) is :mod:`videoxai.outdated`'s, run while the
workflow plans, and the deep checks are ``snakemake verify``'s (:mod:`videoxai.verify`).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from videoxai import checksums
from videoxai.rebuild import BrokenFileError

CHECKED_SUFFIXES = (".parquet", ".safetensors", ".mp4", ".png", ".pdf", ".json", ".csv", ".tex", ".html")

# a file's verified stat key, per process: a reader that opens a file twice hashes it once
_VERIFIED: dict[str, list[int]] = {}


def check_recorded(path: str | os.PathLike[str]) -> None:
    """Raise :class:`BrokenFileError` when ``path`` has a content record and is not what it records
    (size, sha256); nothing when it has none (a file the workflow did not write)."""
    try:
        made = checksums.read_record(path)
    except checksums.DamagedRecord as e:
        raise BrokenFileError(path, str(e)) from None
    if made is None:
        return
    key = checksums.stat_key(os.stat(path))
    if _VERIFIED.get(str(path)) == key:
        return
    problem = checksums.content_problem(path, made)
    if problem is not None:
        raise BrokenFileError(path, problem)
    _VERIFIED[str(path)] = key


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
    """Content record, footer and schema of a Parquet file; returns the JSON under ``metadata_key`` (if asked)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_recorded(path)
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
    """Content record, header, byte ranges, the expected tensors (name -> (dtype, rank)) and metadata keys;
    returns the header."""
    check_recorded(path)
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
    """Content record; boxes tile the file and include ftyp, moov, mdat; ``deep``: every frame decodes."""
    check_recorded(path)
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
    check_recorded(path)
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
    check_recorded(path)
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
    check_recorded(path)
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BrokenFileError(path, f"not valid JSON ({e})") from None


def check_text(path: str | os.PathLike[str]) -> None:
    check_recorded(path)
    data = Path(path).read_bytes()
    if not data.strip():
        raise BrokenFileError(path, "is empty")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BrokenFileError(path, f"is not UTF-8 text ({e})") from None


# ------------------------------------------------------------------------------------------- by suffix


def check_file(path: str | os.PathLike[str], deep: bool = False) -> None:
    """Check one file by its kind (suffix); raise :class:`BrokenFileError` when it is not whole or not what
    was written. ``deep`` reads Parquet pages (verifying their checksums) and decodes videos and images."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    suffix = p.suffix.lower()
    with reading(p):
        if suffix == ".parquet":
            if not deep:
                check_recorded(p)
                parquet_frame(p)
            else:
                import pyarrow.parquet as pq

                check_parquet(p)
                pq.read_table(str(p), page_checksum_verification=True)
        elif suffix == ".safetensors":
            check_safetensors(p)
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
        else:
            check_recorded(p)


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


def _size(path: str | os.PathLike[str]) -> int:
    return os.stat(path).st_size
