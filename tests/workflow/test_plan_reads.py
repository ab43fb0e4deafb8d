"""`snakemake -n` reads a job at a glance: a prompt-tuning run's CLIP backbone is one input of resolve (the record of
its files), and its files are listed once per backbone, in the job that records them, not once per model."""

from __future__ import annotations

import json
import math
import re

import pytest

from tests.helpers import run_snakemake
from tests.workflow.test_prompt_tuning_workflow import KEYS, hf_env, runs_workdir

pytestmark = pytest.mark.workflow

# a screen: 24 rows of 120 columns. A job's block (rule, input, output, log, jobid, reason, wildcards, resources) takes
# 8-13 rows; a resolve job that listed a ViT-B/16 CLIP's eight files as inputs took 16, its reason as many again
# where they were new. `rule all` lists every target of the config and is left out.
SCREEN_ROWS, SCREEN_COLUMNS = 24, 120


def _jobs(out: str) -> list[list[str]]:
    """The plan's job blocks: a `rule NAME:` line and the indented lines under it."""
    blocks, block = [], None
    for line in out.splitlines():
        if re.match(r"^(local)?(rule|checkpoint) \w+:$", line):
            block = [line]
            blocks.append(block)
        elif block is not None and line.startswith(" "):
            block.append(line)
        else:
            block = None
    return blocks


def _rows(block: list[str]) -> int:
    return sum(max(1, math.ceil(len(line) / SCREEN_COLUMNS)) for line in block)


def test_each_job_of_the_plan_fits_on_a_screen(tmp_path) -> None:
    wd = runs_workdir(tmp_path / "wd")
    cfg = wd / "config" / "config.yaml"
    # the demo's three models beside the two prompt-tuning runs, which share one backbone
    text = cfg.read_text().replace("models:\n", "models:\n- dual_coop/demo/tiny\n- stt/demo/tiny\n", 1)
    cfg.write_text(text)
    proc = run_snakemake(wd, "-n", env=hf_env(wd), timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    jobs = [j for j in _jobs(out) if j[0] != "rule all:"]
    assert len(jobs) > 20, out[-3000:]
    longest = max(jobs, key=_rows)
    assert _rows(longest) < SCREEN_ROWS, "\n".join(longest)
    resolves = [j for j in jobs if j[0] in ("rule resolve_model:", "localrule resolve_model:")]
    assert len(resolves) == 2 + len(KEYS)
    # the backbone's files appear in one job, the record's; every prompt-tuning resolve reads that record
    listing = [line for line in out.splitlines() if "/snapshots/" in line]
    (snapshot,) = (wd / "hf-home/hub/models--openai--clip-vit-base-patch16/snapshots").iterdir()
    assert len(listing) == 1 and listing[0].count("/snapshots/") == len(list(snapshot.iterdir())), listing
    (record_job,) = [j for j in jobs if j[0].endswith("backbone_record:")]
    (record,) = set(re.findall(r"results/models/backbones/[^\s,]+\.json", "\n".join(record_job)))
    assert sum(record in "\n".join(j) for j in resolves) == len(KEYS)


def test_the_record_lists_the_backbones_files(tmp_path) -> None:
    wd = runs_workdir(tmp_path / "wd")
    proc = run_snakemake(wd, "--cores", "1", f"results/models/{KEYS[0]}/resolved.json", env=hf_env(wd), timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (record_file,) = (wd / "results/models/backbones").glob("[!.]*.json")
    record = json.loads(record_file.read_text())
    resolved = json.loads((wd / f"results/models/{KEYS[0]}/resolved.json").read_text())
    assert record == resolved["backbone"]
    assert record_file.stem == f"openai--clip-vit-base-patch16@{record['revision']}"
