"""Caching: a full demo run, then reruns that should do little or nothing.

Prints wall seconds of: the full run; a no-op rerun (goal <= 2% of full);
a rerun after changing `n-bins` (goal <= 5%); and the jobs that adding an
explainer or changing an explainer option plans (goal: no extraction jobs).
`--small` uses a smaller demo (fewer clips, shorter training) for a quick look.

Snakemake imports every installed executor plugin at start-up; the SLURM
plugin runs ``scontrol show config`` then, which waits about 9 s where SLURM
is installed but its controller is down. Run this with the controller up
(or SLURM absent), as on a working cluster or a laptop.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

import yaml
from _common import REPO, print_table, save, timed_snakemake


def jobs_planned(dry_run: str) -> dict[str, int]:
    table = dry_run.split("Job stats:", 1)[1] if "Job stats:" in dry_run else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--small", action="store_true", help="400/80 clips and 30 s of training instead of the default demo"
    )
    ap.add_argument("--cores", default="2")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(tmp)
        for name in ("workflow", "config", "profiles"):
            shutil.copytree(REPO / name, wd / name)
        if args.small:
            cfg_path = wd / "config/config.yaml"
            cfg = yaml.safe_load(cfg_path.read_text())
            cfg["demo"].update({"n-train": 400, "n-test": 80, "train-seconds": 30})
            cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        rows = []
        full, proc = timed_snakemake(wd, "--cores", args.cores)
        if proc.returncode:
            raise SystemExit(proc.stderr[-4000:])
        rows.append({"run": "full demo", "seconds": full, "share_of_full": 1.0, "goal": ""})
        noop, proc = timed_snakemake(wd, "--cores", args.cores)
        assert "Nothing to be done" in proc.stdout + proc.stderr, "second run was not a no-op"
        rows.append({"run": "no-op rerun", "seconds": noop, "share_of_full": noop / full, "goal": "<= 0.02"})
        nbins, proc = timed_snakemake(wd, "--cores", args.cores, "--config", "n-bins=10")
        rows.append({"run": "n-bins changed", "seconds": nbins, "share_of_full": nbins / full, "goal": "<= 0.05"})
        # the same n-bins as the last run, so only the explainer change can plan jobs
        for label, change in (
            ("explainer added (planned)", "explainer-method=[attention-rollout,grad-cam,grad-rollout]"),
            ("explainer option changed (planned)", "head-fusion=max"),
        ):
            _, proc = timed_snakemake(wd, "-n", "--config", "n-bins=10", change)
            planned = jobs_planned(proc.stdout)
            rows.append(
                {
                    "run": label,
                    "seconds": None,
                    "share_of_full": None,
                    "goal": "no extract",
                    "jobs": ", ".join(f"{k}={v}" for k, v in planned.items()) or "none",
                }
            )
        print_table(rows, ["run", "seconds", "share_of_full", "goal", "jobs"])
        save("caching", {"small": args.small, "rows": rows})


if __name__ == "__main__":
    main()
