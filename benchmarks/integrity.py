"""What the integrity checks cost while planning (issue 26): side by side, in one run.

1. Video manifests on a UCF101-sized split: a synthetic 13,320-clip listing (101 classes, small files) in
   UCF101's layout. Times reading the listing alone (what planning's data checks already pay), a ``stat`` of
   every clip (the floor of noticing a change), building the manifest with a cold hash cache (every clip read),
   refreshing it with a warm cache (nothing changed: goal < 2 s), and with one clip replaced.
2. The no-op rerun of the demo, before and after: the workflow at ``--base`` (a commit before the checks, from
   ``git archive``) and the working tree each run the demo once in a scratch folder, then no-op reruns of the
   two alternate (``--repeats`` each, medians): the added seconds and their share of the no-op (goal < 5%).
   Beside it, the checks' own time measured in-process on the finished run (hash cache loaded, every output
   against its record, the manifest refreshed).

The machine's load is part of every number: say how busy it was when you quote them. Where SLURM is installed
but its controller is down, every ``snakemake`` call waits ~9 s for ``scontrol`` (see docs/benchmarks.md): with
``--skip-slurm-probe`` the calls find a ``scontrol`` that fails at once first on their PATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml
from _common import REPO, SNAKEMAKE, print_table, save

UCF_CLASSES = 101
UCF_CLIPS = 13_320


def synthetic_ucf(root: Path, clip_bytes: int) -> None:
    """13,320 clips of ``clip_bytes`` random bytes in 101 class folders, with classInd.txt and testlist01.txt."""
    rng = __import__("random").Random(0)
    classes = [f"Class{i:03d}" for i in range(UCF_CLASSES)]
    (root).mkdir(parents=True)
    (root / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(classes)))
    lines = []
    for n in range(UCF_CLIPS):
        c = classes[n % UCF_CLASSES]
        rel = f"{c}/v_{c}_g{n // UCF_CLASSES % 25 + 1:02d}_c{n // (UCF_CLASSES * 25) + 1:02d}_{n}.avi"
        (root / c).mkdir(exist_ok=True)
        (root / rel).write_bytes(rng.randbytes(clip_bytes))
        lines.append(rel)
    (root / "testlist01.txt").write_text("".join(f"{line}\n" for line in lines))


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def manifests(tmp: Path, clip_bytes: int) -> list[dict]:
    from videoxai.checksums import HashCache
    from videoxai.data.datasets import load_split_info
    from videoxai.data.manifest import build_manifest, refresh_manifest, write_manifest

    root = tmp / "ucf"
    synthetic_ucf(root, clip_bytes)
    entry = {"name": "ucf", "format": "ucf101", "root": str(root)}
    out = tmp / "results" / "datasets" / "ucf" / "test.manifest.json"
    cache_path = tmp / "hashes.json"
    listing = timed(lambda: load_split_info("ucf101", root, "test"))
    info = load_split_info("ucf101", root, "test")
    stat = timed(lambda: [os.stat(s.path) for s in info.samples])

    def cold() -> None:
        cache_path.unlink(missing_ok=True)
        cache = HashCache(cache_path)
        write_manifest(out, entry, "test", cache)
        cache.save()

    cold_s = timed(cold, 1)
    # planning has read the listing already (its data checks): the refresh adds the stats, the cache and the compare
    warm_s = timed(lambda: refresh_manifest(out, entry, "test", HashCache(cache_path), info))
    total_s = timed(lambda: refresh_manifest(out, entry, "test", HashCache(cache_path)))
    assert refresh_manifest(out, entry, "test", HashCache(cache_path)) is False
    victim = info.samples[0].path
    victim.write_bytes(os.urandom(clip_bytes))
    start = time.perf_counter()
    cache = HashCache(cache_path)
    changed = refresh_manifest(out, entry, "test", cache, info)
    one_s = time.perf_counter() - start
    assert changed and cache.hashed == 1
    build_s = timed(lambda: build_manifest(info, entry, "test", HashCache(cache_path)))
    rows = [
        {"what": "read the listing (13,320 clips)", "s": listing, "vs listing": 1.0},
        {"what": "stat every clip", "s": stat, "vs listing": stat / listing},
        {"what": "manifest, cold cache (every clip hashed)", "s": cold_s, "vs listing": cold_s / listing},
        {"what": "refresh, warm cache, nothing changed", "s": warm_s, "vs listing": warm_s / listing},
        {"what": "  of it: building the manifest (stat + cache)", "s": build_s, "vs listing": build_s / listing},
        {"what": "listing + refresh, warm (goal < 2 s)", "s": total_s, "vs listing": total_s / listing},
        {"what": "refresh, one clip replaced", "s": one_s, "vs listing": one_s / listing},
    ]
    return rows


def workdir(dest: Path, src: Path, small: bool) -> Path:
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(src / name, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    if small:
        cfg_path = dest / "config/config.yaml"
        cfg = yaml.safe_load(cfg_path.read_text())
        cfg.update(models=["video_coop/demo/tiny"], demo={"n-train": 8, "n-test": 8, "seed": 0, "train-seconds": 1})
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


PATH_PREFIX: list[str] = []  # --skip-slurm-probe: a folder holding a scontrol that fails at once


def snakemake(wd: Path, src: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(src / "src"))
    env["PATH"] = os.pathsep.join([*PATH_PREFIX, env.get("PATH", "")])
    start = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, *args], cwd=wd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def noop(tmp: Path, base: str, repeats: int, small: bool) -> tuple[list[dict], dict]:
    base_src = tmp / "base-src"
    base_src.mkdir()
    archive = subprocess.run(["git", "archive", base], cwd=REPO, capture_output=True, check=True).stdout
    archive_path = tmp / "base.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(base_src, filter="data")
    sides = {
        "before": (base_src, workdir(tmp / "before", base_src, small)),
        "after": (REPO, workdir(tmp / "after", REPO, small)),
    }
    full = {}
    for name, (src, wd) in sides.items():
        full[name], proc = snakemake(wd, src, "--cores", "2")
        if proc.returncode:
            raise SystemExit(f"{name}: the demo failed\n{proc.stderr[-3000:]}")
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(repeats):
        for name, (src, wd) in sides.items():
            seconds, proc = snakemake(wd, src, "--cores", "2")
            assert "Nothing to be done" in proc.stdout + proc.stderr, (name, proc.stderr[-2000:])
            times[name].append(seconds)
    before, after = statistics.median(times["before"]), statistics.median(times["after"])

    # the checks' own time, in-process, on the finished run (warm cache: as every no-op finds it)
    code = (
        "import time, glob, os\n"
        "from videoxai.checks import damaged_outputs\n"
        "from videoxai.checksums import HashCache\n"
        "from videoxai.data.manifest import refresh_manifest\n"
        "folders=[f for f in ['results/datasets','results/models','results/predictions','results/calibration',"
        "'results/explain','results/wandb/records','figures'] if os.path.isdir(f)]\n"
        "ts=[]\n"
        "for _ in range(5):\n"
        "    t=time.perf_counter(); c=HashCache(); d=damaged_outputs(folders, c)\n"
        "    for m in glob.glob('results/datasets/*/*.manifest.json'):\n"
        "        refresh_manifest(m, {'name': 'demo', 'format': 'ucf101', 'root': 'data/demo', 'split-id': 1,"
        " 'ground-truth': {'format': 'jhmdb', 'root': 'puppet_mask'}}, 'test', c)\n"
        "    c.save(); ts.append(time.perf_counter()-t); assert not d, d\n"
        "ts.sort(); print(ts[len(ts)//2], sum(1 for f in folders for _ in glob.glob(f+'/**/*', recursive=True)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=sides["after"][1],
        env=dict(os.environ, PYTHONPATH=str(REPO / "src")),
        capture_output=True,
        text=True,
        check=True,
    )
    checks_s, files = proc.stdout.split()
    rows = [
        {"what": "full demo run, before", "s": full["before"], "share": ""},
        {"what": "full demo run, after", "s": full["after"], "share": ""},
        {"what": f"no-op rerun, before (median of {repeats})", "s": before, "share": ""},
        {"what": f"no-op rerun, after (median of {repeats})", "s": after, "share": ""},
        {"what": "added by the checks (after - before)", "s": after - before, "share": (after - before) / before},
        {"what": "fastest no-op, before", "s": min(times["before"]), "share": ""},
        {"what": "fastest no-op, after", "s": min(times["after"]), "share": ""},
        {
            "what": "added, fastest against fastest",
            "s": min(times["after"]) - min(times["before"]),
            "share": min(times["after"]) / min(times["before"]) - 1,
        },
        {
            "what": f"the checks in-process ({files} files and folders)",
            "s": float(checks_s),
            "share": float(checks_s) / after,
        },
    ]
    return rows, {"noop_before": times["before"], "noop_after": times["after"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="fcb8a55", help="the commit to compare with (before the checks)")
    ap.add_argument("--repeats", type=int, default=7, help="no-op reruns of each side")
    ap.add_argument("--clip-bytes", type=int, default=4096, help="size of each synthetic clip")
    ap.add_argument("--small", action="store_true", help="the tiny demo (one model, 8 clips) instead of the default")
    ap.add_argument("--skip-noop", action="store_true", help="only the manifest part")
    ap.add_argument(
        "--skip-slurm-probe", action="store_true", help="a scontrol that fails at once first on the PATH (see above)"
    )
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = manifests(Path(tmp), args.clip_bytes)
    print_table(rows, ["what", "s", "vs listing"])
    payload = {"manifest": rows, "clips": UCF_CLIPS, "clip_bytes": args.clip_bytes}
    if not args.skip_noop:
        with tempfile.TemporaryDirectory() as tmp:
            if args.skip_slurm_probe:
                stub = Path(tmp) / "stub"
                stub.mkdir()
                (stub / "scontrol").write_text("#!/bin/sh\nexit 1\n")
                (stub / "scontrol").chmod(0o755)
                PATH_PREFIX.append(str(stub))
            noop_rows, raw = noop(Path(tmp), args.base, args.repeats, args.small)
        print()
        print_table(noop_rows, ["what", "s", "share"])
        payload.update(
            noop=noop_rows, base=args.base, small=args.small, slurm_probe_skipped=args.skip_slurm_probe, **raw
        )
    save("integrity", payload)


if __name__ == "__main__":
    main()
