"""What a new user runs into in the first hour gets one line that names the fix (README, "Messages")."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, SNAKEMAKE, TINY_DEMO, make_workdir

pytestmark = pytest.mark.workflow


def _snakemake(wd: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if path is not None:
        env["PATH"] = path
    return subprocess.run([SNAKEMAKE, *args], cwd=wd, env=env, capture_output=True, text=True, timeout=300)


def _path_without_slurm(tools: Path) -> Path:
    """A folder of links to every command on PATH but SLURM's (CI installs SLURM for tests/cluster)."""
    tools.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            link = tools / name
            if not name.startswith(("sbatch", "srun", "squeue", "sacct", "scontrol", "sinfo", "scancel")) and not (
                link.exists() or link.is_symlink()
            ):
                link.symlink_to(os.path.join(folder, name))
    return tools


def test_a_target_after_configfile_gets_one_line(tmp_path: Path) -> None:
    wd = make_workdir(tmp_path / "wd", TINY_DEMO)
    (wd / "my.yaml").write_text((wd / "config" / "config.yaml").read_text())
    proc = _snakemake(wd, "-n", "--configfile", "my.yaml", "calibration")
    assert proc.returncode == 1
    lines = [
        ln for ln in (proc.stdout + proc.stderr).splitlines() if not ln.startswith("Using workflow specific profile")
    ]
    assert lines == [
        "videoxai: --configfile takes config files, and 'calibration' is not one (no such file); if it is a target, "
        "put it before --configfile: snakemake --cores all calibration --configfile FILE"
    ]
    # the order the message gives works
    assert _snakemake(wd, "-n", "calibration", "--configfile", "my.yaml").returncode == 0


def test_the_cluster_profile_without_slurm_fails_in_one_line_and_touches_nothing(tmp_path: Path) -> None:
    wd = make_workdir(tmp_path / "wd", TINY_DEMO)
    (wd / "results").mkdir()
    kept = wd / "results" / "keep.txt"
    kept.write_text("an earlier result")
    proc = _snakemake(wd, "--profile", "profiles/slurm", "all", path=str(_path_without_slurm(tmp_path / "bin")))
    assert proc.returncode == 1
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if not ln.startswith("Using ")]
    assert lines == [
        "videoxai: --profile profiles/slurm submits jobs with SLURM's sbatch, which this machine does not have: "
        "run it on the cluster's login node, or drop --profile profiles/slurm to run here"
    ]
    assert kept.read_text() == "an earlier result" and sorted(p.name for p in (wd / "results").iterdir()) == [
        "keep.txt"
    ]
    assert not (wd / ".snakemake").exists()


def test_make_demo_takes_a_core_count_and_installs_no_test_extras() -> None:
    out = subprocess.run(
        ["make", "-n", "-B", "demo", "CORES=4", "VIDEOXAI_SYSTEM_DEPS=skip"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "snakemake --cores 4" in out
    assert "pip install --quiet -e .\n" in out and "[test]" not in out


PROGRESS = re.compile(
    r"(?P<what>extract|explain attention-rollout): (?P<done>\d+)/(?P<total>\d+) clips \(\d+%\), [0-9.e+-]+ clips/s, "
    r"(?P<when>.+) (?P<tail>left|in all)$"
)


def _progress(text: str) -> list[tuple[str, int, int, str]]:
    """(what, done, total, left | in all) of each progress line, as a job log or the terminal shows it."""
    out = []
    for line in text.splitlines():
        m = PROGRESS.search(line)
        if m:
            out.append((m["what"], int(m["done"]), int(m["total"]), m["tail"]))
    return out


def test_extraction_and_explanation_report_progress_in_the_terminal_and_the_job_log(tmp_path: Path) -> None:
    """Issue 27: clips done, rate and time left after the first batch (then every 30 s) and at the end."""
    wd = make_workdir(
        tmp_path / "wd",
        {**TINY_DEMO, "batch-size": 2, "explain-batch-size": 1, "explainer-method": ["attention-rollout"]},
    )
    proc = _snakemake(wd, "--cores", "2", "explain")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    logs = wd / "logs"
    (extract_log,) = (logs / "extract_predictions").rglob("*.log")
    (explain_log,) = (logs / "explain_clips").rglob("*.log")
    # a short run: the line after the first batch (with the time left) and the closing one
    assert _progress(extract_log.read_text()) == [("extract", 2, 8, "left"), ("extract", 8, 8, "in all")]
    assert _progress(explain_log.read_text()) == [
        ("explain attention-rollout", 1, 4, "left"),
        ("explain attention-rollout", 4, 4, "in all"),
    ]
    # the same lines reach the terminal (a SLURM job's log gets the job's stderr the same way)
    terminal = _progress(proc.stdout + proc.stderr)
    assert terminal == _progress(extract_log.read_text()) + _progress(explain_log.read_text())


def test_a_failed_job_prints_one_traceback(tmp_path: Path) -> None:
    """Issue 27: the terminal gets one line per failure; the traceback is in the job's log, shown once."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "Snakefile").write_text(
        'rule broken:\n    output: "out.txt"\n    log: "logs/broken.log"\n    script: "scripts/broken.py"\n'
    )
    (tmp_path / "scripts" / "broken.py").write_text(
        "from videoxai.joblog import job_logging\n"
        "with job_logging(snakemake.log[0], snakemake.rule):\n"
        "    raise ValueError('selection.json names a clip the split lacks: rerun select_clips')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "1", "--show-failed-logs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert out.count("Traceback (most recent call last)") == 1, out
    # the job's one line on stderr (the log Snakemake shows holds it too, above the traceback)
    failed = next(ln.split(" ", 1)[1] for ln in out.splitlines() if " ERROR videoxai: " in ln)
    assert re.fullmatch(
        r"ERROR videoxai: rule broken failed after \d+\.\d s: ValueError: selection.json names a clip the split "
        r"lacks: rerun select_clips \(traceback in logs/broken.log\)",
        failed,
    )
    assert (tmp_path / "logs" / "broken.log").read_text().count("Traceback (most recent call last)") == 1


def _with_sbatch(tmp_path: Path) -> str:
    """PATH with an ``sbatch`` on it, so profiles/slurm gets past its SLURM check on this machine. Only dry runs use
    it: nothing is submitted, and it fails if anything ever calls it."""
    tools = tmp_path / "sbatch-bin"
    tools.mkdir()
    (tools / "sbatch").write_text("#!/bin/sh\necho 'not a SLURM: only dry runs here' >&2\nexit 1\n")
    (tools / "sbatch").chmod(0o755)
    return os.pathsep.join([str(tools), os.environ["PATH"]])


def _job_resources(out: str) -> dict[str, list[str]]:
    """Each planned job's ``resources:`` line, by rule, from a dry run's output."""
    found: dict[str, list[str]] = {}
    rule = None
    for line in out.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            found.setdefault(rule, []).append(line.strip())
    return found


def test_the_cluster_profile_takes_the_account_from_the_users_config(tmp_path: Path) -> None:
    """Issue 27: no account is guessed; without slurm-account the profile stops in one line, before planning."""
    wd = make_workdir(tmp_path / "wd", TINY_DEMO)
    path = _with_sbatch(tmp_path)
    proc = _snakemake(wd, "--profile", "profiles/slurm", "-n", path=path)
    assert proc.returncode == 1
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if not ln.startswith("Using ")]
    assert lines == [
        "videoxai: --profile profiles/slurm needs the SLURM account to charge: set slurm-account: NAME in your "
        "config, or pass --config slurm-account=NAME (sacctmgr show assoc user=$USER format=account lists yours; "
        "slurm-account: none where the cluster has no accounts)"
    ]
    assert not (wd / ".snakemake").exists()
    # the user's own config file (given with --configfile) names it: every job is charged to it
    mine = yaml.safe_load((wd / "config" / "config.yaml").read_text())
    (wd / "my.yaml").write_text(yaml.safe_dump({**mine, "slurm-account": "mylab"}))
    proc = _snakemake(wd, "--profile", "profiles/slurm", "-n", "--configfile", "my.yaml", path=path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = _job_resources(proc.stdout + proc.stderr)
    assert {"extract_predictions", "explain_clips", "calibrate"} <= set(jobs)
    assert all("slurm_account=mylab" in line for lines in jobs.values() for line in lines)
    # a cluster without accounts: slurm-account: none submits without -A (and guesses none)
    proc = _snakemake(wd, "--profile", "profiles/slurm", "-n", "--config", "slurm-account=none", path=path)
    assert proc.returncode == 0 and "slurm_account" not in proc.stdout + proc.stderr


def test_the_cluster_profile_leaves_memory_and_runtime_to_the_rules() -> None:
    """The model jobs' mem_mb and runtime come from the rules (clips, model, attempt): the profile sets neither."""
    text = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    profile = yaml.safe_load(text)

    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for v in node.values() for k in keys(v)}
        return set()

    assert not keys(profile["set-resources"]) & {"mem_mb", "mem", "mem_mib", "mem_gb", "runtime", "time"}


ATTEMPTS = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings, StorageSettings

gpu = {"extract_predictions": {"gpu": 1}, "explain_clips": {"gpu": 1}}  # as profiles/slurm sets them
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    wf = api.workflow(
        resource_settings=ResourceSettings(cores=8, nodes=100, overwrite_resources=gpu),
        config_settings=ConfigSettings(),
        storage_settings=StorageSettings(),
        snakefile=Path("workflow/Snakefile").absolute(),
        workdir=Path.cwd(),
    )
    wf.dag(DAGSettings())
    g = wf._workflow.globals
    out = []
    for wildcards in json.loads(sys.argv[1]):
        w = g["Wildcards"](fromdict=wildcards)
        out.append([
            [g["extract_mem_mb"](w, 2, a), g["extract_runtime"](w, 2, a), g["explain_mem_mb"](w, a), g["explain_runtime"](w, 1, a)]
            for a in (1, 2, 3)
        ])
    print(json.dumps(out))
"""


def _resources_by_attempt(wd: Path, *keys: str, explainer: str = "grad-cam") -> list:
    """[extract mem_mb, extract runtime, explain mem_mb, explain runtime] at attempts 1, 2, 3 of each model key's jobs on
    the demo's test split (the explain job's folder: ``explainer``), from the workflow's own resource functions
    (parsed by Snakemake's API, as a run does)."""
    wildcards = [
        dict(zip(("method", "train", "run"), key.split("/")), test="demo", split="test", explainer=explainer)
        for key in keys
    ]
    proc = subprocess.run(
        [str(Path(SNAKEMAKE).with_name("python")), "-c", ATTEMPTS, json.dumps(wildcards)],
        cwd=wd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_a_retried_model_job_asks_for_more_time_and_memory(tmp_path: Path) -> None:
    """Issue 27: a job killed at its time limit is resubmitted (retries: 2) with twice, then four times the runtime,
    and half as much memory again each time, as the workflow's own resource functions give them to Snakemake."""
    wd = make_workdir(tmp_path / "wd", TINY_DEMO)
    ((m1, t1, e1, s1), (m2, t2, e2, s2), (m3, t3, e3, s3)), _ = _resources_by_attempt(
        wd, "video_coop/demo/tiny", "r3d_18/kinetics400/default"
    )
    assert (t2, t3) == (2 * t1, 4 * t1) and (s2, s3) == (2 * s1, 4 * s1)
    assert (m2, m3) == (int(1.5 * m1), 2 * m1) and (e2, e3) == (int(1.5 * e1), 2 * e1)


def test_the_runtime_follows_the_clips_when_the_model_is_unknown_while_planning(tmp_path: Path) -> None:
    """A model whose footprint planning cannot read (here torchvision's r3d_18) no longer gets a fixed 120 min: its
    extraction's runtime follows the split's clips (a ViT-B/16 CLIP run stands in for it)."""
    small = make_workdir(tmp_path / "small", TINY_DEMO)
    large = make_workdir(
        tmp_path / "large", {**TINY_DEMO, "device": "cpu", "demo": {**TINY_DEMO["demo"], "n-test": 4000}}
    )
    ((_, few, _, _), *_), *_ = _resources_by_attempt(small, "r3d_18/kinetics400/default")
    ((_, many, _, _), *_), *_ = _resources_by_attempt(large, "r3d_18/kinetics400/default")
    assert few == 10 and many > 10 * few  # 10 min is the floor of any estimate


def test_an_explainer_variant_is_estimated_with_its_own_evaluation_settings(tmp_path: Path) -> None:
    """An explain job's runtime follows its folder's deletion and sanity steps (the ones its script runs with), not
    the config's: a variant with 4 x the deletion steps asks for more time, one without evaluation for less."""
    wd = make_workdir(tmp_path / "wd", {**TINY_DEMO, "device": "cpu"})
    key = "r3d_18/kinetics400/default"  # timed as a ViT-B/16 run: well above the 10 min floor

    def explain_minutes(explainer: str) -> int:
        ((_, _, _, minutes), *_), *_ = _resources_by_attempt(wd, key, explainer=explainer)
        return minutes

    default = explain_minutes("grad-cam")
    assert explain_minutes("grad-cam+deletion-steps-64") > 2 * default
    assert 10 <= explain_minutes("grad-cam+evaluate-false") < default / 4
