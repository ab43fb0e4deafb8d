"""videoxai installed as a package (``pip install .``, not editable) and its workflow used as a Snakemake ``module``.

The Snakemake workflow catalog's deployment: a user's folder holds a Snakefile with ``module videoxai:`` (the
catalog writes ``snakefile: github(...)``; here the path of a local clone) and ``use rule * from videoxai``, and
its own ``config/`` (the catalog's test config, ``.test/config/config.yaml``, as it is).
A user who installs the package and writes their own Snakefile in another folder must get the same demo run:
the schemas the workflow and the checkpoint reader load are package data, and nothing in the workflow may
assume it runs from the repository. The fresh virtualenv gets only videoxai itself from the install; its
dependencies (torch, snakemake, ...) come from this test's environment through a ``.pth`` file, so nothing is
downloaded (the editable install of this environment is not seen there: a ``.pth`` file's paths are added
as they are, the ``.pth`` files inside them are not read).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, TEST_CONFIG, TINY_DEMO, copy_working_tree

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

USER_SNAKEFILE = """\
configfile: "config/config.yaml"


module videoxai:
    snakefile:
        {snakefile!r}
    config:
        config


use rule * from videoxai
"""


def run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """A command as a user's shell runs it: no PYTHONPATH pointing at a checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def installed_venv(tmp_path: Path) -> Path:
    """A fresh virtualenv with videoxai installed from a copy of the source tree (a non-editable wheel build)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
    (Path(purelib.stdout.strip()) / "_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    # setuptools from this environment when it has one (no network needed), else pip's isolated build fetches it
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    proc = run([str(python), "-m", "pip", "install", "--no-deps", *isolation, str(source)], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return venv


def test_installed_package_runs_the_demo_as_a_snakemake_module(tmp_path: Path) -> None:
    venv = installed_venv(tmp_path)
    python = str(venv / "bin" / "python")
    where = run(
        [
            python,
            "-c",
            "import json, videoxai, videoxai.schemas as s; "
            "print(json.dumps([videoxai.__file__, str(s.CONFIG_SCHEMA), s.CONFIG_SCHEMA.is_file(), "
            "s.CHECKPOINT_CONFIG_SCHEMA.is_file()]))",
        ],
        tmp_path,
    )
    assert where.returncode == 0, where.stderr[-3000:]
    package, schema, *found = json.loads(where.stdout)
    site_packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert Path(package).is_relative_to(site_packages), package  # the installed copy, not this checkout
    assert Path(schema).is_relative_to(site_packages) and all(found)

    clone = copy_working_tree(tmp_path / "videoxai")  # what a clone holds: nothing the workflow needs may be untracked
    user = tmp_path / "analysis"
    (user / "config").mkdir(parents=True)
    (user / "Snakefile").write_text(USER_SNAKEFILE.format(snakefile=str(clone / "workflow" / "Snakefile")))
    shutil.copy2(TEST_CONFIG, user / "config" / "config.yaml")

    proc = run([python, "-m", "snakemake", "--cores", "2"], user)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    key = TINY_DEMO["models"][0]
    resolved = json.loads((user / "results" / "models" / key / "resolved.json").read_text())
    assert Path(resolved["checkpoint"]).is_relative_to(site_packages)  # the demo checkpoint shipped as package data
    for made in (
        f"results/predictions/{key}/demo/test.parquet",
        f"results/calibration/{key}/demo/test/metrics.json",
        "results/calibration/summary.csv",
        f"figures/calibration/{key}/demo-test/reliability_diagram.png",
        f"figures/explainer/{key}/demo-test/grad-cam/aggregated_stats.json",
    ):
        assert (user / made).is_file(), made
    assert list((user / f"figures/explainer/{key}/demo-test/attention-rollout/video_samples").glob("*.mp4"))
    # the report finds every caption beside the module's rules
    report = run([python, "-m", "snakemake", "--cores", "1", "--report", "report.zip"], user)
    assert report.returncode == 0, (report.stdout + report.stderr)[-3000:]
    assert (user / "report.zip").stat().st_size > 0
