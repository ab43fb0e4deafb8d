"""What a PyTorch checkpoint's pickle would import when loaded, read without unpickling it (no torch).

``torch.load(weights_only=True)`` refuses a pickle that names a global outside a short list (tensor rebuild
functions, storage and dtype names, ``OrderedDict``, ...), but only when a job loads the file, after planning
said all was well, and with advice to lower the guard. :func:`code_globals` lists the globals outside that
list by walking the pickle's opcodes (``pickletools.genops``: nothing is imported or called), so a checkpoint
that would run code is refused while the workflow plans, naming the file.
"""

from __future__ import annotations

import io
import os
import pickletools
import re
import zipfile
from pathlib import Path

# torch's weights_only allowlist (torch/_weights_only_unpickler.py, _get_allowed_globals), by name
_SAFE = frozenset(
    {
        "collections.OrderedDict",
        "collections.Counter",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch.Size",
        "torch.Tensor",
        "torch.device",
        "_codecs.encode",
        "builtins.bytearray",
        "builtins.set",
        "builtins.complex",
        "torch._tensor._rebuild_from_type_v2",
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        "torch.per_tensor_affine",
        "torch.per_tensor_symmetric",
        "torch.per_channel_affine",
        "torch.per_channel_symmetric",
        "torch.per_channel_affine_float_qparams",
    }
    | {
        f"torch._utils.{f}"
        for f in (
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
            "_rebuild_qtensor",
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_tensor_v3",
            "_rebuild_sparse_tensor",
            "_rebuild_meta_tensor_no_storage",
            "_rebuild_nested_tensor",
            "_rebuild_wrapper_subclass",
            "_rebuild_device_tensor_from_numpy",
            "_rebuild_device_tensor_from_cpu_tensor",
        )
    }
)
# dtypes (torch.float32, ...), legacy storage and tensor classes (torch.FloatStorage, torch.cuda.HalfTensor)
_SAFE_PATTERN = re.compile(
    r"torch\.(?:u?int[1-7]|u?int(?:8|16|32|64)|float(?:16|32|64)|bfloat16|complex(?:32|64|128)|bool"
    r"|q?u?int\d+(?:x\d)?|bits\d+(?:x\d)?|float8_e\dm\d[a-z]*|float4_e2m1fn_x2)"
    r"|torch(?:\.cuda)?\.[A-Z][A-Za-z]*(?:Storage|Tensor)"
)
_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def is_safe_global(name: str) -> bool:
    """True for a global ``torch.load(weights_only=True)`` admits (``module.name``; protocol 2 writes Python 2's
    ``__builtin__``, which torch reads as ``builtins``)."""
    name = "builtins." + name.removeprefix("__builtin__.") if name.startswith("__builtin__.") else name
    return name in _SAFE or _SAFE_PATTERN.fullmatch(name) is not None


def pickle_globals(data: bytes, offset: int = 0) -> tuple[list[str], int]:
    """The globals one pickle in ``data`` (from ``offset``) names, as ``module.name`` (``?`` where a name is
    built in a way this reader does not follow), and the offset after its STOP."""
    values: list[str | None] = []  # what each opcode pushed: a string, or None for anything else
    memo: dict[int, str | None] = {}
    found: list[str] = []
    stream = io.BytesIO(data)
    stream.seek(offset)
    end = offset
    for op, arg, _pos in pickletools.genops(stream):
        end = stream.tell()
        name = op.name
        if name in _STRINGS:
            values.append(arg if isinstance(arg, str) else arg.decode("latin-1"))
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = values[-1] if values else None
        elif name == "MEMOIZE":
            memo[len(memo)] = values[-1] if values else None
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            values.append(memo.get(int(arg)))
        elif name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            found.append(f"{module}.{attr}")
            values.append(None)
        elif name == "STACK_GLOBAL":
            attr = values.pop() if values else None
            module = values.pop() if values else None
            found.append(f"{module}.{attr}" if module is not None and attr is not None else "?")
            values.append(None)
        elif name == "STOP":
            break
        elif op.stack_after:
            values.append(None)
    return found, end


def checkpoint_globals(path: str | os.PathLike[str]) -> list[str]:
    """Every global a ``.pt`` (a torch.save zip archive, or torch's legacy pickle stream) names."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            member = next((n for n in z.namelist() if n.endswith("data.pkl")), None)
            if member is None:
                return []
            found, _ = pickle_globals(z.read(member))
            return found
    data = path.read_bytes()
    found, offset = [], 0
    for _ in range(4):  # magic number, protocol, system info, the object (then raw storage keys and bytes)
        try:
            names, offset = pickle_globals(data, offset)
        except (ValueError, EOFError):
            break
        found += names
    return found


def code_globals(path: str | os.PathLike[str]) -> list[str]:
    """The globals a checkpoint names that ``torch.load(weights_only=True)`` refuses: what would run code."""
    try:
        names = checkpoint_globals(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return []  # an unreadable file is the weights header check's to report
    return list(dict.fromkeys(n for n in names if not is_safe_global(n)))
