"""Overhead: how much of a demo run is the jobs' own work, and how much is starting them.

One run of the default demo (``--small``: a smaller one) in a scratch copy of the workflow, then:

* work: the sum over jobs of the in-job time each job's log reports (``rule X done in Y s (Z s of CPU)``, written
  by ``videoxai.joblog``; imports and Snakemake's preamble are not in it), per rule and in total, and the same
  jobs' in-job CPU seconds (their worker processes included: a job keeping two cores busy did twice its time);
* wall: the run's wall clock, and ``wall / (work / cores)`` (goal <= 1.5: start-up and scheduling cost at most
  half again the work spread over the cores); beside it the same with each job's time counted once per thread
  Snakemake gave it (a 2-thread job holds both cores of a 2-core machine);
* a no-op rerun (goal <= 2% of the full run) and a rerun after changing ``n-bins`` (goal <= 5%), in seconds
  too, beside Snakemake's own start (a one-rule workflow's no-op: the floor of every ``snakemake`` call);
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

DONE = re.compile(r"rule (\w+) done in ([0-9.]+) s(?: \(([0-9.]+) s of CPU\))?")


def job_work(workdir: Path) -> dict[str, dict[str, float]]:
    """Per rule: the number of jobs and the sum of their in-job seconds, from every job log under logs/."""
    per_rule: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "work_s": 0.0, "cpu_s": 0.0})
    for log in (workdir / "logs").rglob("*.log"):
        m = DONE.search(log.read_text(errors="replace"))
        if m:
            per_rule[m.group(1)]["jobs"] += 1
            per_rule[m.group(1)]["work_s"] += float(m.group(2))
            per_rule[m.group(1)]["cpu_s"] += float(m.group(3) or "nan")
    return dict(per_rule)


def threads_per_rule(run_output: str) -> dict[str, int]:
    """Rule -> the threads Snakemake gave its jobs, from a run's job blocks (no ``threads:`` line means 1)."""
    threads: dict[str, int] = {}
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:)", run_output):
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if m:
            t = re.search(r"^\s+threads: (\d+)$", block, re.M)
            threads[m.group(1)] = max(threads.get(m.group(1), 1), int(t.group(1)) if t else 1)
    return threads


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


def snakemake_floor(folder: Path, cores: int, repeats: int = 3) -> float:
    """Median seconds of a no-op ``snakemake`` call on a one-rule workflow: what any workflow pays to start
    Snakemake (its imports, every installed executor plugin's, the CLI), before this workflow's own planning."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Snakefile").write_text('rule done:\n    output: "done.txt"\n    shell: "touch {output}"\n')
    (folder / "done.txt").write_text("")
    times = []
    for _ in range(repeats):
        seconds, proc = timed_snakemake(folder, "--cores", str(cores))
        if proc.returncode or "Nothing to be done" not in proc.stdout + proc.stderr:
            raise SystemExit(f"the one-rule workflow did not plan as a no-op:\n{proc.stderr[-2000:]}")
        times.append(seconds)
    return statistics.median(times)


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
        threads = threads_per_rule(proc.stdout + proc.stderr)
        for name, r in per_rule.items():
            r["threads"] = threads.get(name, 1)
        work = sum(r["work_s"] for r in per_rule.values())
        # a job given 2 threads holds 2 cores for its whole time: the work the cores had to host
        core_work = sum(r["work_s"] * r["threads"] for r in per_rule.values())
        cpu_work = sum(r["cpu_s"] for r in per_rule.values())
        jobs = sum(int(r["jobs"]) for r in per_rule.values())
        noop, proc = timed_snakemake(wd, "--cores", str(args.cores))
        assert "Nothing to be done" in proc.stdout + proc.stderr, "second run was not a no-op"
        nbins, proc = timed_snakemake(wd, "--cores", str(args.cores), "--config", "n-bins=10")
        if proc.returncode:
            raise SystemExit(proc.stderr[-4000:])
        floor = snakemake_floor(Path(tmp) / "floor", args.cores)
    ratio = full / (work / args.cores)
    rows = [
        {"measure": "jobs run (rule all not counted)", "value": jobs, "goal": ""},
        {"measure": "in-job work, sum over jobs (s)", "value": round(work, 1), "goal": ""},
        {"measure": f"wall clock, full run on {args.cores} cores (s)", "value": round(full, 1), "goal": ""},
        {"measure": "wall / (work / cores)", "value": round(ratio, 2), "goal": "<= 1.5"},
        {"measure": "core-seconds held (work x the job's threads)", "value": round(core_work, 1), "goal": ""},
        {"measure": "wall / (core-seconds / cores)", "value": round(full / (core_work / args.cores), 2), "goal": ""},
        {
            "measure": "in-job CPU, sum over jobs (s; worker processes included)",
            "value": round(cpu_work, 1),
            "goal": "",
        },
        {"measure": "wall / (in-job CPU / cores)", "value": round(full / (cpu_work / args.cores), 2), "goal": ""},
        {"measure": "no-op rerun (s)", "value": round(noop, 2), "goal": ""},
        {"measure": "no-op rerun / full", "value": round(noop / full, 4), "goal": "<= 0.02"},
        {"measure": "n-bins rerun (s)", "value": round(nbins, 2), "goal": ""},
        {"measure": "n-bins rerun / full", "value": round(nbins / full, 4), "goal": "<= 0.05"},
        {"measure": "Snakemake's own start: a one-rule workflow's no-op (s)", "value": round(floor, 2), "goal": ""},
        {"measure": "that start / full", "value": round(floor / full, 4), "goal": ""},
    ]
    print_table(rows, ["measure", "value", "goal"])
    print()
    print_table(
        [
            {"rule": k, **{kk: round(vv, 1) for kk, vv in v.items()}, "import_s": imports.get(k)}
            for k, v in sorted(per_rule.items())
        ],
        ["rule", "jobs", "threads", "work_s", "cpu_s", "import_s"],
    )
    save(
        "overhead",
        {
            "small": args.small,
            "cores": args.cores,
            "jobs": jobs,
            "work_s": work,
            "wall_s": full,
            "wall_over_work_per_core": ratio,
            "core_work_s": core_work,
            "wall_over_core_work_per_core": full / (core_work / args.cores),
            "cpu_work_s": cpu_work,
            "wall_over_cpu_work_per_core": full / (cpu_work / args.cores),
            "noop_s": noop,
            "nbins_s": nbins,
            "snakemake_floor_s": floor,
            "per_rule": per_rule,
            "script_import_s": imports,
        },
    )


if __name__ == "__main__":
    main()
