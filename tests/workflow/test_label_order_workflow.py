"""``conventions: prompt-tuning`` reaches extraction and explanation on a UCF101-layout dataset (the demo's).

Prompt-tuning's UCF101 reader scores clips against the class names sorted by
Python while their labels keep classInd.txt's indices (videoxai.conventions.label_order).
The demo is written in the UCF101 layout with its classes not in sort order,
so under ``prompt-tuning`` its predictions' columns are the sorted names, the
labels unchanged, and the explain job sets the model up the same way. The
convention is part of those results' identity (``+pt``): switching back to
``standard`` makes the standard files beside them and changes none of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import TINY_DEMO, explainer_folder, make_workdir, run_snakemake
from videoxai.demo.dataset import DEMO_CLASSES
from videoxai.explain.store import load_heatmaps
from videoxai.extract.predictions import load_predictions

pytestmark = pytest.mark.workflow

SMALL = {
    **TINY_DEMO,
    "conventions": "prompt-tuning",
    "explainer-method": "attention-rollout",
    "classes-to-map": 1,
    "samples-per-class": 1,
    "evaluate": False,
}
PRED = "results/predictions/video_coop/demo/tiny/demo/test+pt.parquet"
FOLDER = explainer_folder("attention-rollout", SMALL, "prompt-tuning")  # +evaluate-false+classes-1+samples-1
HEATMAPS = f"results/explain/video_coop/demo/tiny/demo/test+pt/{FOLDER}/heatmaps.safetensors"
STANDARD_PRED = "results/predictions/video_coop/demo/tiny/demo/test.parquet"


def test_prompt_tuning_label_order_reaches_extraction_and_explanation(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, SMALL)
    run = run_snakemake(workdir, "--cores", "2", HEATMAPS, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    preds = load_predictions(workdir / PRED)
    assert preds.class_names == sorted(DEMO_CLASSES) != list(DEMO_CLASSES)
    assert preds.metadata["label_order"] == "prompt-tuning"
    assert preds.metadata["test_class_names"] == list(DEMO_CLASSES)  # labels: classInd.txt's indices
    assert load_heatmaps(workdir / HEATMAPS).params["conventions"] == "prompt-tuning"

    path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**cfg, "conventions": "standard"}, sort_keys=False))
    changed = run_snakemake(workdir, "--list-changes", "params", timeout=300)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert PRED not in changed.stdout and HEATMAPS not in changed.stdout
    before = {p: ((workdir / p).read_bytes(), (workdir / p).stat().st_mtime_ns) for p in (PRED, HEATMAPS)}
    standard = run_snakemake(workdir, "--cores", "2", STANDARD_PRED, timeout=600)
    assert standard.returncode == 0, standard.stdout + standard.stderr
    assert load_predictions(workdir / STANDARD_PRED).class_names == list(DEMO_CLASSES)
    assert before == {p: ((workdir / p).read_bytes(), (workdir / p).stat().st_mtime_ns) for p in (PRED, HEATMAPS)}
