"""Resources: each job kind's peak memory and time per clip, beside what its rule declared, at demo and real size.

Two real workflow runs in scratch folders, measured from the jobs' own logs (``videoxai.joblog``: in-job time,
CPU, and the peak memory of the job's processes beside the ``mem_mb`` its rule declared):

* the default demo (``--no-demo`` skips it);
* a real-size setup made here (:mod:`videoxai.demo.real_size`): a ViT-B/16-shaped CLIP with random weights in a
  Hugging Face cache, prompt-tuning run folders written from it (``--models``), ``--clips`` UCF101-sized clips
  (320 x 240 H.264) in ``--classes`` classes; the default config otherwise (batch-size 16, explain-batch-size
  auto, the runs' own 4 x 3 views, evaluation on), ``--explainers``, ``--classes-to-map`` x
  ``--samples-per-class`` clips explained, run with ``--cores`` and ``--resources mem_mb=--mem-mb`` as a user
  on a machine of that size would. ``--extra-views 1x1`` also extracts with those views (extraction only).

Then, in this process, one forward pass of one clip of each real-size model on the job's thread count (the
resolved model, loaded as the jobs load it), for extraction's time per clip over forward-only. Prints one row
per job kind and model: jobs, declared mem_mb, measured peak (largest), peak / declared, time per clip (in-job
wall over clips; extraction: its loop, from the log's timestamps), and writes benchmarks/results/resources.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml
from _common import REPO, print_table, save, timed_snakemake

from videoxai.demo.real_size import write_backbone, write_clips, write_run
from videoxai.joblog import PEAK_RE

DONE = re.compile(r"rule (\w+) done in ([0-9.]+) s \(([0-9.]+) s of CPU\)")
CLIPS = re.compile(r"(?:extracting|explaining) (\d+) clips")
STAMP = re.compile(r"^(\d\d:\d\d:\d\d) ", re.M)
UCF101_CLASSES = ["ApplyEyeMakeup", "Archery", "BabyCrawling", "Basketball", "Biking", "Billiards", "Bowling", "Boxing"]


def workdir(dest: Path, overrides: dict) -> Path:
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    cfg_path = dest / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg.update(overrides)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def jobs(root: Path) -> list[dict]:
    """One row per model job log: rule, the log's path parts (model, explainer), times, clips, memory."""
    rows = []
    for log in sorted((root / "logs").rglob("*.log")):
        text = log.read_text(errors="replace")
        done, peak = DONE.search(text), PEAK_RE.search(text)
        if not (done and peak):
            continue
        rel = log.relative_to(root / "logs")
        row = {
            "rule": done.group(1),
            "job": str(rel.with_suffix("")),
            "wall_s": float(done.group(2)),
            "cpu_s": float(done.group(3)),
            "peak_mb": int(peak.group(2)),
            "declared_mb": None if peak.group(5) == "None" else int(peak.group(5)),
        }
        clips = CLIPS.search(text)
        if clips:
            row["clips"] = int(clips.group(1))
        if row["rule"] == "extract_predictions":  # the loop alone: from the "extracting" line to "wrote"
            start = re.search(r"^(\d\d:\d\d:\d\d) .*extracting \d+ clips", text, re.M)
            end = re.search(r"^(\d\d:\d\d:\d\d) .*wrote ", text, re.M)
            if start and end:
                row["loop_s"] = _seconds(start.group(1), end.group(1))
        rows.append(row)
    return rows


def elapsed_seconds(wd: Path) -> float:
    """The wall time Snakemake's newest log of ``wd`` gives (``Elapsed time: 1:31:15.2``), for ``--reuse``."""
    logs = sorted((wd / ".snakemake" / "log").glob("*.snakemake.log"))
    found = re.findall(r"Elapsed time: (?:(\d+) days?, )?(\d+):(\d+):([0-9.]+)", logs[-1].read_text()) if logs else []
    if not found:
        raise SystemExit(f"--reuse: no finished run in {wd} (no 'Elapsed time' in Snakemake's log)")
    days, h, m, sec = found[-1]
    return int(days or 0) * 86400 + int(h) * 3600 + int(m) * 60 + float(sec)


def _seconds(a: str, b: str) -> float:
    t = [datetime.datetime.strptime(x, "%H:%M:%S") for x in (a, b)]
    return (t[1] - t[0]).total_seconds() % 86400


def summarise(rows: list[dict], setting: str) -> list[dict]:
    """Per rule and model (and explainer): jobs, declared, largest peak, time per clip."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        parts = Path(r["job"]).parts
        model = "/".join(parts[1:4]) if r["rule"] in ("extract_predictions", "explain_clips", "resolve_model") else ""
        kind = r["rule"] + (f" {parts[-1]}" if r["rule"] == "explain_clips" else "")
        if r["rule"] == "extract_predictions":
            kind += f" {parts[-1]}"  # the split variant: its views
        groups[(setting, kind, model)].append(r)
    out = []
    for (setting_, kind, model), rs in sorted(groups.items()):
        peak = max(r["peak_mb"] for r in rs)
        declared = min(r["declared_mb"] for r in rs if r["declared_mb"] is not None)
        row = {
            "setting": setting_,
            "job": kind,
            "model": model,
            "jobs": len(rs),
            "declared_mb": declared,
            "peak_mb": peak,
            "peak/declared": peak / declared,
        }
        clips = sum(r.get("clips", 0) for r in rs)
        if clips:
            row["s_per_clip"] = sum(r.get("loop_s", r["wall_s"]) for r in rs) / clips
        out.append(row)
    return out


def forward_seconds(resolved: Path, views: tuple[int, int], threads: int, repeats: int) -> float:
    """Median seconds of one forward of one clip of the resolved model (as a job loads it) over ``views``."""
    import statistics

    import torch

    from videoxai.io import read_json
    from videoxai.models.checkpoints.resolve import load_resolved

    torch.set_num_threads(threads)
    model = load_resolved(read_json(resolved)).eval()
    spec = model.input_spec
    clip = torch.randn(1, views[0] * views[1], spec.num_frames, 3, spec.size, spec.size)
    times = []
    with torch.inference_mode():
        model(clip)  # warm-up (text features)
        for _ in range(repeats):
            start = time.perf_counter()
            model(clip)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, help="scratch folder (default: a temporary one, removed after)")
    ap.add_argument("--models", nargs="+", default=["video_coop", "dual_coop"])
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--explainers", nargs="+", default=["attention-rollout", "grad-cam", "grad-rollout"])
    ap.add_argument("--classes-to-map", type=int, default=4)
    ap.add_argument("--samples-per-class", type=int, default=2)
    ap.add_argument("--deletion-steps", type=int, default=16)
    ap.add_argument("--sanity-steps", type=int, default=4)
    ap.add_argument("--extra-views", nargs="*", default=["1x1"], help="views (TxS) to extract as well")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--mem-mb", type=int, default=16000, help="--resources mem_mb for the real-size run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="with --root: measure a real-size run that finished there before instead of running it again",
    )
    args = ap.parse_args()

    root = args.root or Path(tempfile.mkdtemp(prefix="videoxai-resources-"))
    root.mkdir(parents=True, exist_ok=True)
    summary: list[dict] = []
    runs: dict[str, dict] = {}
    try:
        if not args.no_demo:
            demo = workdir(root / "demo", {})
            wall, proc = timed_snakemake(demo, "--cores", str(args.cores))
            if proc.returncode:
                raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
            runs["demo"] = {"wall_s": wall, "jobs": jobs(demo)}
            summary += summarise(runs["demo"]["jobs"], "demo")
            print(f"demo: {wall:.0f} s", flush=True)

        # the real-size setup
        data = root / "real-size"
        classes = UCF101_CLASSES[: args.classes]
        hub = data / "hf-home" / "hub"
        if not (hub / "models--openai--clip-vit-base-patch16").is_dir():
            snapshot = write_backbone(hub)
            for m in args.models:
                write_run(data / "runs" / m, m, snapshot, classes)
            per_class = -(-args.clips // args.classes)
            write_clips(data / "ucf101", classes, per_class)
        paths = {f"{m}/ucf101/best": str(data / "runs" / m / "best.pt") for m in args.models}
        reuse = args.reuse and (root / "run" / "run.log").is_file()  # a run that finished there before
        wd = (
            (root / "run")
            if reuse
            else workdir(
                root / "run",
                {
                    "models": list(paths),
                    "checkpoint-paths": paths,
                    "datasets": {"ucf101": {"format": "ucf101", "root": str(data / "ucf101")}},
                    "dataset-test": "ucf101",
                    "explainer-method": args.explainers,
                    "classes-to-map": args.classes_to_map,
                    "samples-per-class": args.samples_per_class,
                    "deletion-steps": args.deletion_steps,
                    "sanity-steps": args.sanity_steps,
                },
            )
        )
        env = {"HF_HOME": str(data / "hf-home"), "HF_HUB_OFFLINE": "1"}
        os.environ.update(env)
        if reuse:
            wall = elapsed_seconds(wd)  # the finished run's own, from Snakemake's log
        else:
            wall, proc = timed_snakemake(wd, "--cores", str(args.cores), "--resources", f"mem_mb={args.mem_mb}")
            (wd / "run.log").write_text(proc.stdout + proc.stderr)
            if proc.returncode:
                raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
        print(f"real size, default views: {wall:.0f} s", flush=True)
        extra_walls = {}
        for views in args.extra_views:
            t, s = (int(x) for x in views.split("x"))
            extra_wall, proc = timed_snakemake(
                wd,
                "calibration",
                "--cores",
                str(args.cores),
                "--resources",
                f"mem_mb={args.mem_mb}",
                "--config",
                f"num-temporal-views={t}",
                f"num-spatial-views={s}",
            )
            if proc.returncode:
                raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
            extra_walls[views] = extra_wall
        runs["real-size"] = {"wall_s": wall, "extra_views_wall_s": extra_walls, "jobs": jobs(wd)}
        summary += summarise(runs["real-size"]["jobs"], "ViT-B/16")

        # forward-only, one clip, on the threads an extraction job gets (extraction / forward-only)
        threads = min(2 + 1, max(1, args.cores // 2))  # the rule's threads at num-workers 2
        from videoxai.setup.threads import split_threads

        torch_threads = split_threads(threads, 2)[1]
        for row in summary:
            if (
                row["setting"] != "ViT-B/16"
                or not row["job"].startswith("extract_predictions")
                or "s_per_clip" not in row
            ):
                continue
            split = row["job"].split()[-1]
            m = re.search(r"\+v(\d+)\+s(\d+)", split)
            views = (int(m.group(1)), int(m.group(2))) if m else (4, 3)  # the runs' own
            resolved = wd / "results" / "models" / row["model"] / "resolved.json"
            fwd = forward_seconds(resolved, views, torch_threads, args.repeats)
            row["forward_s"] = fwd
            row["extract/forward"] = row["s_per_clip"] / fwd
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)

    print_table(
        summary,
        [
            "setting",
            "job",
            "model",
            "jobs",
            "declared_mb",
            "peak_mb",
            "peak/declared",
            "s_per_clip",
            "forward_s",
            "extract/forward",
        ],
    )
    save(
        "resources",
        {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "summary": summary,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
