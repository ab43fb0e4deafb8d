"""Overhead: how much of a demo run is the jobs' own work, and how much is starting them.

One run of the default demo (``--small``: a smaller one) in a scratch copy of the workflow, then:

* work: the sum over jobs of the in-job time each job's log reports (``rule X done in Y s``, written by
  ``videoxai.joblog``; imports and Snakemake's preamble are not in it), per rule and in total;
* wall: the run's wall clock, and ``wall / (work / cores)`` (goal <= 1.5: start-up and scheduling cost at most
  half again the work spread over the cores);
* a no-op rerun (goal <= 2% of the full run) and a rerun after changing ``n-bins`` (goal <= 5%);
* the job count, and what a fresh interpreter pays to import each rule script's imports (the part of every
  job's start-up that the code decides).

The machine's load is part of every number: say how busy it was when you quote them.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

from _common import REPO, print_table, save, timed_snakemake

DONE = re.compile(r"rule (\w+) done in ([0-9.]+) s")


def job_work(workdir: Path) -> dict[str, dict[str, float]]:
    """Per rule: the number of jobs and the sum of their in-job seconds, from every job log under logs/."""
    per_rule: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "work_s": 0.0})
    for log in (workdir / "logs").rglob("*.log"):
        m = DONE.search(log.read_text(errors="replace"))
        if m:
            per_rule[m.group(1)]["jobs"] += 1
            per_rule[m.group(1)]["work_s"] += float(m.group(2))
    return dict(per_rule)


def import_seconds(script: Path, repeats: int = 3) -> float | None:
    """Median seconds a fresh interpreter takes to run a rule script's top-level imports, less a bare start
    (None, with the error printed, when they do not import)."""
    tree = ast.parse(script.read_text())
    code = "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom))

    def run(c: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", c], check=True, capture_output=True, text=True)
        return time.perf_counter() - start

    try:
        bare = statistics.median(run("pass") for _ in range(repeats))
        return max(0.0, statistics.median(run(code) for _ in range(repeats)) - bare)
    except subprocess.CalledProcessError as e:
        print(f"{script.name}: its imports fail: {e.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="400/80 clips instead of the default demo")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary folder)")
    args = ap.parse_args()
    imports = {p.stem: import_seconds(p) for p in sorted((REPO / "workflow" / "scripts").glob("*.py"))}
    imports = {k: None if v is None else round(v, 2) for k, v in imports.items()}
    with tempfile.TemporaryDirectory() as tmp:
        wd = args.keep or Path(tmp)
        wd.mkdir(parents=True, exist_ok=True)
        for name in ("workflow", "config", "profiles"):
            shutil.copytree(REPO / name, wd / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        if args.small:
            cfg_path = wd / "config/config.yaml"
            cfg = yaml.safe_load(cfg_path.read_text())
            cfg["demo"].update({"n-train": 400, "n-test": 80, "train-seconds": 30})
            cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        full, proc = timed_snakemake(wd, "--cores", str(args.cores))
        if proc.returncode:
            raise SystemExit(proc.stderr[-4000:])
        per_rule = job_work(wd)
        work = sum(r["work_s"] for r in per_rule.values())
        jobs = sum(int(r["jobs"]) for r in per_rule.values())
        noop, proc = timed_snakemake(wd, "--cores", str(args.cores))
        assert "Nothing to be done" in proc.stdout + proc.stderr, "second run was not a no-op"
        nbins, proc = timed_snakemake(wd, "--cores", str(args.cores), "--config", "n-bins=10")
        if proc.returncode:
            raise SystemExit(proc.stderr[-4000:])
    ratio = full / (work / args.cores)
    rows = [
        {"measure": "jobs run (rule all not counted)", "value": jobs, "goal": ""},
        {"measure": "in-job work, sum over jobs (s)", "value": round(work, 1), "goal": ""},
        {"measure": f"wall clock, full run on {args.cores} cores (s)", "value": round(full, 1), "goal": ""},
        {"measure": "wall / (work / cores)", "value": round(ratio, 2), "goal": "<= 1.5"},
        {"measure": "no-op rerun / full", "value": round(noop / full, 4), "goal": "<= 0.02"},
        {"measure": "n-bins rerun / full", "value": round(nbins / full, 4), "goal": "<= 0.05"},
    ]
    print_table(rows, ["measure", "value", "goal"])
    print()
    print_table([{"rule": k, **{kk: round(vv, 1) for kk, vv in v.items()}, "import_s": imports.get(k)}
                 for k, v in sorted(per_rule.items())], ["rule", "jobs", "work_s", "import_s"])
    save("overhead", {
        "small": args.small, "cores": args.cores, "jobs": jobs, "work_s": work, "wall_s": full,
        "wall_over_work_per_core": ratio, "noop_s": noop, "nbins_s": nbins, "per_rule": per_rule,
        "script_import_s": imports,
    })


if __name__ == "__main__":
    main()
