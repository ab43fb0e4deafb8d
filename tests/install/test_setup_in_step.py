"""The set-up is written in four places (README, Makefile, .ci/run, pyproject.toml/environment.yml); they agree."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from tests.helpers import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
ENV = yaml.safe_load((REPO / "environment.yml").read_text())
RULE_ENV = yaml.safe_load((REPO / "workflow" / "envs" / "videoxai.yaml").read_text())
MAKEFILE = (REPO / "Makefile").read_text()
README = (REPO / "README.md").read_text()


def _conda_pip(env: dict = ENV) -> list[str]:
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    return pip


@pytest.mark.parametrize("name, env", [("environment.yml", ENV), ("workflow/envs/videoxai.yaml", RULE_ENV)])
def test_conda_environments_pin_what_pyproject_pins(name: str, env: dict) -> None:
    pins = {re.split(r"[=<>!~ ]", d, maxsplit=1)[0].lower(): d for d in PYPROJECT["project"]["dependencies"]}
    for line in _conda_pip(env):
        if line.startswith("-e"):
            continue
        package = re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower()
        assert pins.get(package) == line, f"{name} has {line!r}, pyproject.toml {pins.get(package)!r}"
    assert "python=3.11" in env["dependencies"], name


def test_both_installs_take_the_project_with_its_test_extra() -> None:
    assert "-e .[test]" in _conda_pip()
    assert "pip install --quiet -e '.[test]'" in MAKEFILE


def test_one_python_version_everywhere() -> None:
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert "python=3.11" in ENV["dependencies"]
    assert re.search(r"^PYTHON \?= python3\.11$", MAKEFILE, re.MULTILINE)
    assert "Python 3.11" in README


def test_readme_make_commands_exist_and_ci_runs_the_readme_test_command() -> None:
    targets = set(re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.MULTILINE).group(1).split())
    blocks = "\n".join(re.findall(r"```\n(.*?)```", README, re.DOTALL))
    used = set(re.findall(r"^make ([a-z-]+)", blocks, re.MULTILINE))
    assert {"demo", "test"} <= used and used <= targets, (used, targets)
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "make test"
