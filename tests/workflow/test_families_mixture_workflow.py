"""prompt-tuning's vidop, vilt and vita run folders and a mixture of them, end to end through Snakemake (issue 25).

The four run folders of ../shared/origin-fixtures-families, as prompt-tuning wrote them, and a copy of one vidop run
that says it was trained on 6 frames: one config holds models of different frame counts (6, 8, and vilt asked for 4
by `num-frames: {key: 4}`, which names its files +f4). Two mixtures (a uniform ensemble and a weighted one) are made
from the members' predictions, calibrated and summarised like the models; the explainer explains the runs and
records that it skipped the mixtures. A frame count vita cannot take fails while planning, before any job.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import TINY_DEMO, explainer_folder, make_workdir, origin_fixtures_families, run_snakemake
from videoxai.extract.predictions import load_predictions

SMALL = {"classes-to-map": 1, "samples-per-class": 1, "evaluate": False}
FOLDER = explainer_folder("attention-rollout", SMALL)  # attention-rollout+evaluate-false+classes-1+samples-1
EXPLAINED = ["vilt/ucf101/best-mean", "vidop/ucf101/six-frames"]  # explained (the others' maps: unit tests)

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

RUNS = [
    "vidop/ucf101/best-with-hand-features-attention-0",
    "vidop/ucf101/best-no-hand-features-mean",
    "vilt/ucf101/best-mean",
    "vita/ucf101/beat-mean",
]
SIX = "vidop/ucf101/six-frames"  # a copy of best-no-hand-features-mean whose run config says 6 frames
ENSEMBLE = "mixture/ucf101/ensemble"
WEIGHTED = "mixture/ucf101/weighted"
SPLIT = "test+v1+s1"  # one temporal and one spatial view: a short run
FRAMES = {RUNS[0]: 8, RUNS[1]: 8, RUNS[2]: 4, RUNS[3]: 8, SIX: 6}
SPLITS = {key: SPLIT + ("+f4" if key == RUNS[2] else "") for key in FRAMES}


def hf_env(wd: Path) -> dict[str, str]:
    return {"HF_HOME": str(wd / "hf-home"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixtures = origin_fixtures_families()
    wd = tmp_path_factory.mktemp("families")
    six = wd / "runs" / SIX
    shutil.copytree(fixtures / "runs" / RUNS[1], six)
    cfg = json.loads((six / "config.json").read_text())
    (six / "config.json").write_text(json.dumps({**cfg, "num-frames-temporal": 6}))
    paths = {key: str(fixtures / "runs" / key / "best.pt") for key in RUNS} | {SIX: str(six / "best.pt")}
    make_workdir(
        wd,
        {
            **TINY_DEMO,
            "models": [*RUNS, SIX],
            "checkpoint-paths": paths,
            "num-frames": {RUNS[2]: 4},
            "mixtures": {ENSEMBLE: [RUNS[2], RUNS[3], SIX], WEIGHTED: {RUNS[0]: 3, RUNS[3]: 1}},
            "num-temporal-views": 1,
            "num-spatial-views": 1,
            "explainer-method": "attention-rollout",
            **SMALL,
            "bootstrap": 0,
        },
    )
    shutil.copytree(fixtures / "hf-home", wd / "hf-home")
    proc = run_snakemake(wd, "--cores", "2", *targets(), env=hf_env(wd), timeout=900)
    (wd / "run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return wd


def targets() -> list[str]:
    """Calibration of every model and mixture; explanations of the runs on 4 and 6 frames; the mixtures' notices."""
    explain = []
    for key in EXPLAINED:
        explain.append(f"results/explain/{key}/demo/{SPLITS[key]}/{FOLDER}/heatmaps.safetensors")
        explain.append(f"figures/explainer/{key}/demo-{SPLITS[key]}/{FOLDER}/aggregated_stats.json")
    skipped = [f"results/explain/{key}/demo/{SPLIT}/attention-rollout/skipped.json" for key in (ENSEMBLE, WEIGHTED)]
    return ["calibration", *explain, *skipped]


def predictions(wd: Path, key: str, split: str):
    return load_predictions(wd / f"results/predictions/{key}/demo/{split}.parquet")


@pytest.mark.parametrize("key", list(FRAMES))
def test_each_run_is_extracted_on_its_own_frames(workdir: Path, key: str) -> None:
    preds = predictions(workdir, key, SPLITS[key])
    assert len(preds.sample_ids) == 8 and preds.num_errors == 0 and np.isfinite(preds.logits).all()
    assert preds.metadata["input_spec"]["num_frames"] == FRAMES[key]
    frames = pq_frames(workdir / f"results/predictions/{key}/demo/{SPLITS[key]}.parquet")
    assert {len(f) for f in frames} == {FRAMES[key]}  # one view of the model's frames per clip
    metrics = json.loads((workdir / f"results/calibration/{key}/demo/{SPLITS[key]}/metrics.json").read_text())
    assert metrics["model"] == key and metrics["n"] == 8


def pq_frames(path: Path) -> list[list[int]]:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["frame_indices"]).column("frame_indices").to_pylist()


def test_frames_name_the_files_only_where_a_model_runs_on_other_frames(workdir: Path) -> None:
    assert not (workdir / f"results/predictions/{RUNS[2]}/demo/{SPLIT}.parquet").exists()
    files = sorted(p.name for p in (workdir / f"results/predictions/{SIX}/demo").glob("*.parquet"))
    assert files == [f"{SPLIT}.parquet"]  # its own 6 frames: no suffix


@pytest.mark.parametrize(
    "key,members,weights",
    [(ENSEMBLE, [RUNS[2], RUNS[3], SIX], [1 / 3] * 3), (WEIGHTED, [RUNS[0], RUNS[3]], [0.75, 0.25])],
)
def test_a_mixture_is_the_weighted_mean_of_its_members_probabilities(workdir: Path, key, members, weights) -> None:
    mix = predictions(workdir, key, SPLIT)
    p = np.zeros((8, len(mix.class_names)))
    for member, w in zip(members, weights, strict=True):
        m = predictions(workdir, member, SPLITS[member])
        assert m.sample_ids == mix.sample_ids and m.class_names == mix.class_names
        z = m.logits.astype(np.float64)
        p += w * np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
    np.testing.assert_allclose(mix.logits, np.log(p), atol=1e-5)  # standard conventions: log-probabilities
    assert mix.metadata["mixture"]["members"] == members
    np.testing.assert_allclose(mix.metadata["mixture"]["weights"], weights)
    metrics = json.loads((workdir / f"results/calibration/{key}/demo/{SPLIT}/metrics.json").read_text())
    assert metrics["model"] == key and metrics["accuracy"] == pytest.approx(float((p.argmax(1) == mix.labels).mean()))
    assert (workdir / f"figures/calibration/{key}/demo-{SPLIT}/reliability_diagram.png").is_file()


def test_the_summary_compares_models_and_mixtures(workdir: Path) -> None:
    summary = (workdir / "results/calibration/summary.csv").read_text()
    for key in [*FRAMES, ENSEMBLE, WEIGHTED]:
        assert key in summary, key


def test_runs_are_explained_and_mixtures_skipped_with_a_notice(workdir: Path) -> None:
    from safetensors import safe_open

    for key in EXPLAINED:
        path = workdir / f"results/explain/{key}/demo/{SPLITS[key]}/{FOLDER}/heatmaps.safetensors"
        with safe_open(str(path), "numpy") as f:
            assert f.get_slice("heatmaps").get_shape()[:2] == [1, FRAMES[key]], key  # one clip, the model's frames
    for key in (ENSEMBLE, WEIGHTED):
        folder = workdir / f"results/explain/{key}/demo/{SPLIT}/attention-rollout"
        notice = json.loads((folder / "skipped.json").read_text())
        assert notice["skipped"] and notice["model"] == key and "no network" in notice["reason"]
        assert not (folder / "heatmaps.safetensors").exists()
    proc = run_snakemake(workdir, "-n", *targets(), env=hf_env(workdir))
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_frame_count_vita_cannot_take_fails_while_planning(workdir: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**cfg, "num-frames": {RUNS[3]: 6}}))
    proc = run_snakemake(workdir, "-n", "--configfile", str(tmp_path / "bad.yaml"), env=hf_env(workdir))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    line = next(x for x in out.splitlines() if "'num-frames' is 6" in x)
    assert f"{RUNS[3]} takes exactly 8 frames" in line and f"{{{RUNS[3]}: 8}}" in line
    assert "Job stats" not in out
