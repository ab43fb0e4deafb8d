"""Imports run one way: no module of a lower layer imports a higher one (README, Development: "Layers").

Every module under ``src/videoxai/`` is parsed (not imported), and every import
counts: module level, inside functions, under ``TYPE_CHECKING``. A package
may import its own modules and any lower layer; packages on the same layer
never import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

SRC = REPO / "src"

# lowest first; the README's Development section lists the same order
LAYERS: list[set[str]] = [
    {
        "core",
        "schemas",
    },  # keys, io, checks, checksums, rebuild, pickles, runs, joblog: the foundation (see CORE); the YAML schemas
    {"data"},  # datasets, decoding/encoding, sampling, InputSpec, masks
    {"models"},  # architectures, checkpoint registry, resolution
    {"setup"},  # a model set up on a dataset split (device, classes, input spec): shared by extract and explain
    {"extract"},  # inference to files (predictions, device, class plan)
    {"calibration", "explain"},  # both read extraction's predictions
    {"render"},  # figures and videos from stored explanations
    {"tracking"},  # wandb logging of what the stages wrote
    {"demo"},  # the embedded demo: dataset generator, training, shipped checkpoints
    {"preflight", "verify", "__init__"},  # config checks before a run; the verify report; ``load_model``
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
# the small top-level modules under the package root form one unit, the foundation (they import one way:
# rebuild, checksums <- io <- checks; the hook import_cycles.py finds a cycle among them)
CORE = {"keys", "io", "checks", "checksums", "rebuild", "pickles", "runs", "joblog", "conventions"}
# the package root holds ``__version__``: any module may read it (Python imports the root first anyway)
ROOT_NAMES_ANYONE_MAY_USE = {"__version__"}


def _unit(module: str) -> str:
    """The layer unit of a dotted module name: ``videoxai.data.spec`` -> ``data``; the root -> ``__init__``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return "core" if parts[1] in CORE else parts[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, name: str | None = None) -> list[tuple[int, str]]:
    """(line, videoxai module) for every import in ``path`` (module ``name``), relative ones resolved, anywhere."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "videoxai"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "videoxai":
                continue
            if target == "videoxai":  # ``from videoxai import x``: x is a submodule or a root attribute
                found += [
                    (node.lineno, f"videoxai.{a.name}") for a in node.names if a.name not in ROOT_NAMES_ANYONE_MAY_USE
                ]
            else:
                found.append((node.lineno, target))
    # ``import videoxai`` then ``videoxai.x``: only the root's own attributes, never a submodule by attribute
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "videoxai":
            if node.attr not in ROOT_NAMES_ANYONE_MAY_USE and any(m == "videoxai" for _, m in found):
                found.append((node.lineno, f"videoxai.{node.attr}"))
    return [(line, m) for line, m in found if m != "videoxai"]


def _sources() -> list[Path]:
    return sorted((SRC / "videoxai").rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    units = {_unit(_module_name(p)) for p in _sources()}
    unplaced = sorted(units - RANK.keys())
    assert not unplaced, (
        f"src/videoxai/{unplaced[0]} has no layer: add it to LAYERS in {Path(__file__).relative_to(REPO)} "
        "and to the README's Development section"
    )


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC / "videoxai")))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    own = _unit(_module_name(path))
    if own not in RANK:
        pytest.skip("no layer (test_every_module_has_a_layer says which)")
    wrong = []
    for line, target in imported_modules(path):
        unit = _unit(target)
        if unit == own:
            continue
        if unit not in RANK:
            wrong.append(f"line {line}: {target} (no such layer)")
        elif RANK[unit] >= RANK[own]:
            how = "a higher layer" if RANK[unit] > RANK[own] else "a package on the same layer"
            wrong.append(f"line {line}: {target} ({how}: {unit} above or beside {own})")
    assert not wrong, f"{path.relative_to(REPO)} imports against the layering:\n" + "\n".join(wrong)


def test_the_check_sees_function_level_relative_and_root_imports(tmp_path: Path) -> None:
    """The parser is what the layering rests on: it must see every form of import."""
    probe = tmp_path / "probe.py"  # parsed as if it were src/videoxai/data/probe.py
    probe.write_text(
        "import videoxai\n"
        "def f():\n"
        "    from ..models import base\n"
        "    from videoxai.render.video import encode_mp4\n"
        "    import videoxai.tracking.wandb\n"
        "    return videoxai.__version__, videoxai.explain\n"
        "from . import spec\n"
    )
    got = {m for _, m in imported_modules(probe, "videoxai.data.probe")}
    assert got == {
        "videoxai.models",
        "videoxai.render.video",
        "videoxai.tracking.wandb",
        "videoxai.explain",
        "videoxai.data",
    }
