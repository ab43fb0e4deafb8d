"""The README's config for one's own prompt-tuning runs works as written, from a folder of one's own.

The test makes what the README assumes: a prompt-tuning repository with its ``checkpoint_paths.json`` and run
folders (the golden fixtures' runs), a UCF101-layout dataset with its split lists in a separate folder, and the
CLIP backbone in a Hugging Face cache. It takes the README's YAML block, puts the test's paths where the README
has placeholders, and plans it with the README's commands from that folder (``snakemake -s .../Snakefile -n``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, origin_fixtures, run_snakemake
from videoxai.demo.dataset import write_demo_dataset

pytestmark = pytest.mark.workflow

README = (REPO / "README.md").read_text()
SECTION = README.split("## Your own prompt-tuning runs", 1)[1].split("\n## ", 1)[0]
PLACEHOLDERS = {
    "/path/to/prompt-tuning": "prompt-tuning",
    "/data/UCF-101": "UCF-101",
    "/data/ucfTrainTestlist": "ucfTrainTestlist",
}


def _blocks(language: str) -> list[str]:
    return [text for lang, text in re.findall(r"^```(\w*)\n(.*?)^```$", SECTION, re.M | re.S) if lang == language]


def readme_config() -> str:
    (block,) = _blocks("yaml")
    return block


def readme_commands() -> list[list[str]]:
    (block,) = _blocks("")
    return [ln.split("#")[0].split() for ln in block.splitlines() if ln.startswith("snakemake ")]


def test_the_readme_config_names_only_keys_and_placeholders_it_explains() -> None:
    config = yaml.safe_load(readme_config())
    assert set(config) == {"models", "checkpoint-paths", "datasets", "dataset-test", "split"}
    text = readme_config()
    assert all(p in text for p in PLACEHOLDERS), "the test replaces each placeholder: keep them in step"


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A user's machine: prompt-tuning's repository, a dataset, a Hugging Face cache, and an analysis folder."""
    fixtures = origin_fixtures()
    home = tmp_path_factory.mktemp("user")
    config = yaml.safe_load(readme_config())
    # prompt-tuning's repository: checkpoint_paths.json in its place, paths in it relative to the repository root
    repo = home / "prompt-tuning"
    paths: dict = {}
    for key in config["models"]:
        method, dataset, run = key.split("/")
        shutil.copytree(fixtures / "runs" / key, repo / "runs" / key)
        paths.setdefault(method, {}).setdefault(dataset, {})[run] = f"runs/{key}/best.pt"
    json_file = repo / "src/configs/methods/checkpoint_paths.json"
    json_file.parent.mkdir(parents=True)
    json_file.write_text(json.dumps(paths))
    # a UCF101-layout dataset, its split lists in a folder of their own as UCF101 distributes them
    write_demo_dataset(home / "UCF-101", n_train=8, n_test=8, seed=0)
    lists = home / "ucfTrainTestlist"
    lists.mkdir()
    for name in ("classInd.txt", "trainlist01.txt", "testlist01.txt"):
        (home / "UCF-101" / name).rename(lists / name)
    shutil.copytree(fixtures / "hf-home", home / "hf-home")
    # the analysis folder, with the README's config and the test's paths in the placeholders' places
    text = readme_config()
    for placeholder, name in PLACEHOLDERS.items():
        text = text.replace(placeholder, str(home / name))
    (home / "analysis" / "config").mkdir(parents=True)
    (home / "analysis" / "config" / "config.yaml").write_text(text)
    return home, {"HF_HOME": str(home / "hf-home"), "HF_HUB_OFFLINE": "1"}


def test_the_readme_config_plans_from_a_folder_of_ones_own(user: tuple[Path, dict[str, str]]) -> None:
    home, env = user
    commands = readme_commands()
    assert [c[:3] for c in commands] == [["snakemake", "-s", "/path/to/videoxai/workflow/Snakefile"]] * 2
    plan = [a.replace("/path/to/videoxai", str(REPO)) for a in commands[0][1:]]
    assert plan[-1] == "-n"
    proc = run_snakemake(home / "analysis", *plan, timeout=600, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:", 1)[1], re.MULTILINE))
    models = yaml.safe_load(readme_config())["models"]
    assert jobs["resolve_model"] == jobs["extract_predictions"] == jobs["calibrate"] == str(len(models)), jobs
    assert "no config/config.yaml in" not in out  # the folder's own config was read, not the repository's demo
    assert not (home / "analysis" / "results").exists()  # a plan writes nothing


def test_a_run_the_json_does_not_hold_is_refused_naming_the_runs_it_holds(user: tuple[Path, dict[str, str]]) -> None:
    home, env = user
    snakefile = str(REPO / "workflow" / "Snakefile")
    proc = run_snakemake(
        home / "analysis", "-s", snakefile, "-n", "--config", "models=[stt/ucf101/best-true-val]", timeout=600, env=env
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "checkpoint_paths.json" in out and "best-mean" in out, out[-3000:]
