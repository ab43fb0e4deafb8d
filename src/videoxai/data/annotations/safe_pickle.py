"""Read annotation pickles without running code: only numpy arrays, dtypes and plain containers get through.

``pickle.load`` calls whatever global a file names, so a downloaded pickle can
run anything. The annotation files of UCF101-24 (``UCF101v2-GT.pkl``,
``pyannot.pkl``) and J-HMDB (``JHMDB-GT.pkl``) hold nothing but dicts, lists,
tuples, strings, numbers and numpy arrays, so :class:`RestrictedUnpickler`
admits exactly the globals those need (numpy's array and scalar
reconstructors, ``numpy.dtype``, ``numpy.ndarray``, the bytes codec Python uses
for protocol-2 byte strings, ``set``, ``frozenset``, ``bytes``, ``bytearray``) and refuses every other one
before it is imported or called. Python 2 pickles (the files above were made
with Python 2) are read with ``encoding="latin1"``, as numpy documents.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

__all__ = ["ALLOWED_GLOBALS", "RefusedGlobal", "RestrictedUnpickler", "safe_load", "safe_loads"]

# (module, name) pairs; numpy 2 moved numpy.core to numpy._core, and files name either
_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {(m, n) for m in _NUMPY_CORE for n in ("_reconstruct", "scalar")}
    | {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # how Python 3 pickles bytes under protocol 2 (a latin-1 round trip)
    }
    # Python 2 names builtins "__builtin__"; protocol 2 writes an empty byte string as bytes()
    | {(m, n) for m in ("builtins", "__builtin__") for n in ("set", "frozenset", "bytes", "bytearray")}
)


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global that is not a numpy array/dtype or a plain container: it is not loaded."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`; ``source`` names the file in errors."""

    def __init__(self, file: Any, source: str = "<bytes>", **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise RefusedGlobal(
                f"{self.source}: refused to load the global {module}.{name}: annotation pickles may hold only "
                "numpy arrays, dtypes and plain containers (dict, list, tuple, str, numbers). Nothing in the file was "
                "run. If it is a genuine annotation file, re-save it as plain data (e.g. arrays and dicts) and retry"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedGlobal(f"{self.source}: refused a persistent id {pid!r}: annotation pickles have none")


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler` (Python 2 strings read as latin-1)."""
    return RestrictedUnpickler(io.BytesIO(data), source=source, encoding="latin1").load()


def safe_load(path: str | os.PathLike[str]) -> Any:
    """Unpickle the file at ``path`` admitting only plain data; a clear error names the file when it cannot.

    Raises :class:`RefusedGlobal` for any other global, ``FileNotFoundError``
    when the file is missing, and ``ValueError`` for a file that is not a
    readable pickle (truncated, or not a pickle at all).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist: check `ground-truth: file:` in the config")
    with open(path, "rb") as fh:
        try:
            return RestrictedUnpickler(fh, source=str(path), encoding="latin1").load()
        except RefusedGlobal:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(
                f"{path} is not a readable annotation pickle ({type(exc).__name__}: {exc}); "
                "download it again (UCF101v2-GT.pkl / pyannot.pkl)"
            ) from exc
