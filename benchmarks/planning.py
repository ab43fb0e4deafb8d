"""Planning at scale: `snakemake -n` on a large generated config, and at half its size.

16 models x 3 test datasets x 2 explainers x 10 classes, with a fake
checkpoint registry (empty files) and dataset entries: nothing is computed,
only planned. Prints jobs planned and seconds, and the time ratio full/half
(close to 2 means planning scales linearly).
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

import yaml
from _common import REPO, print_table, save, timed_snakemake

METHODS = ["video_coop", "dual_coop", "stt", "r3d_18"]


def make_config(workdir: Path, n_models: int, n_tests: int) -> None:
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, workdir / name)
    models = [f"{METHODS[i % 4]}/ucf101/run-{i}" for i in range(n_models)]
    for key in models:
        ckpt = workdir / "checkpoints" / key / "model.safetensors"
        ckpt.parent.mkdir(parents=True)
        ckpt.write_bytes(b"")
    tests = ["ucf101", "hmdb51", "kinetics400"][:n_tests]
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    cfg.update(
        models=models,
        datasets={t: {"format": t, "root": f"/data/{t}", "split-id": 1} for t in tests},
        **{"dataset-test": tests, "explainer-method": ["attention-rollout", "grad-cam"], "classes-to-map": 10},
    )
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def plan(n_models: int, n_tests: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(tmp)
        make_config(wd, n_models, n_tests)
        seconds, proc = timed_snakemake(wd, "-n", "--quiet", "rules")
        if proc.returncode != 0:
            raise SystemExit(proc.stdout + proc.stderr)
        m = re.search(r"^total\s+(\d+)", proc.stdout, re.M)
        return {
            "models": n_models,
            "test_datasets": n_tests,
            "jobs": int(m.group(1)) if m else None,
            "seconds": seconds,
        }


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    half, full = plan(8, 3), plan(16, 3)
    full["ratio_to_half"] = full["seconds"] / half["seconds"]
    rows = [half, full]
    print_table(rows, ["models", "test_datasets", "jobs", "seconds", "ratio_to_half"])
    save("planning", {"rows": rows})


if __name__ == "__main__":
    main()
