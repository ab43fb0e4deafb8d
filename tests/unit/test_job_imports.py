"""Only the jobs that run a model import torch: every other job starts in a fraction of a second.

Each rule script's import chain runs in a fresh interpreter (as Snakemake starts a job), and the test looks at
``sys.modules`` afterwards. The render and summary jobs also run their real work in a fresh interpreter on a small
heatmaps file, so an import made inside a function is caught too.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO
from tests.unit.test_render_fixtures import make_heatmaps

SCRIPTS = REPO / "workflow" / "scripts"
HEAVY = ("torch", "torchvision", "matplotlib")

# rule script -> the heavy modules it may import: torch only where a model runs, matplotlib only where a figure is drawn
ALLOWED = {
    "aggregate_explanations": set(),
    "render_explanations": {"matplotlib"},
    "select_clips": set(),
    "track_calibration": set(),
    "track_explanations": set(),
    "calibrate": {"matplotlib"},
    "calibration_summary": {"matplotlib"},
    "explanation_summary": {"matplotlib"},  # the leaderboard figure
    "verify_outputs": set(),  # checks files (headers, decodes videos with PyAV): no model, no figure
    "video_manifest": set(),  # hashes a split's clips: reads files only
    "mix_predictions": set(),  # a mixture from its members' predictions files: no model runs
    "explain_skipped": set(),  # the notice that a mixture is not explained
    "recalibrate": {"matplotlib"},  # fits the recalibration methods (scipy, scikit-learn), a diagram per method
    "shift_summary": {"matplotlib"},  # the shift table's box plots
    "shift_lines": {"matplotlib"},  # a corruption's line plot
    "transfer_matrix": {"matplotlib"},  # the transfer matrix's heat maps
    "backbone_record": set(),  # hashes a backbone's files: reads files only
    "compare_curves": {"matplotlib"},  # chosen results' reliability curves on one axis
}


def imported_by(code: str) -> set[str]:
    """Which of HEAVY a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def script_imports(name: str) -> str:
    """The top-level import statements of a rule script: what a job imports before it does anything."""
    tree = ast.parse((SCRIPTS / f"{name}.py").read_text())
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom))


def test_every_rule_script_is_accounted_for() -> None:
    """A new rule script must say here whether it runs a model (or it is checked like the others)."""
    model_jobs = {
        "explain_clips",
        "extract_predictions",
        "resolve_model",
        "fetch_artifact",
        "train_demo",
        "demo_dataset",
    }
    assert {p.stem for p in SCRIPTS.glob("*.py")} == model_jobs | set(ALLOWED)


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_rule_script_imports_no_torch(name: str) -> None:
    loaded = imported_by(script_imports(name))
    assert loaded <= ALLOWED[name], f"{name}.py imports {sorted(loaded - ALLOWED[name])}"


def test_render_and_summary_jobs_run_without_torch(tmp_path: Path) -> None:
    heatmaps = make_heatmaps(tmp_path / "heatmaps.safetensors", n=3, t=6, size=32, grid=4)
    code = (
        "from videoxai.explain.summary import summarize_explanations\n"
        f"s = summarize_explanations({str(heatmaps)!r}, {str(tmp_path / 'stats.json')!r}, dataset=None)\n"
        "assert s['n_clips'] == 3\n"
        "import sys; assert 'matplotlib' not in sys.modules, 'the summary draws no figure'\n"
        "from videoxai.render.stage import render_folder\n"
        f"r = render_folder({str(heatmaps)!r}, {str(tmp_path / 'v')!r}, {str(tmp_path / 'm')!r}, "
        f"gallery={str(tmp_path / 'g.html')!r}, title='t')\n"
        "assert len(r) == 3\n"
    )
    assert imported_by(code) == {"matplotlib"}
    assert len(list((tmp_path / "v").glob("class_*_sample_*.mp4"))) == 3


def test_a_source_overlay_render_job_runs_without_torch(tmp_path: Path) -> None:
    """overlay: source (the default) decodes each clip's original frames in the render job: with PyAV, never the
    decoder that imports torch."""
    from videoxai.explain.store import HeatmapSet, load_heatmaps, save_heatmaps
    from videoxai.render.video import encode_mp4

    hs = load_heatmaps(make_heatmaps(tmp_path / "model.safetensors", n=2, t=6, size=32, grid=4))
    clips = [
        {**c, "sample_id": f"{c['class_name']}/v_{i}.mp4", "frame_indices": [1, 2, 3, 4, 5, 6]}
        for i, c in enumerate(hs.clips)
    ]
    for c in clips:  # the originals: 8 frames of 48 x 64, larger than the model's 32 x 32
        (tmp_path / "data" / c["sample_id"]).parent.mkdir(parents=True, exist_ok=True)
        encode_mp4((np.full((48, 64, 3), 16 * k, np.uint8) for k in range(8)), tmp_path / "data" / c["sample_id"])
    heatmaps = tmp_path / "heatmaps.safetensors"
    save_heatmaps(heatmaps, HeatmapSet(hs.heatmaps, hs.temporal_importance, hs.frames, clips, hs.params))
    code = (
        "from videoxai.render.stage import render_folder\n"
        f"r = render_folder({str(heatmaps)!r}, {str(tmp_path / 'v')!r}, {str(tmp_path / 'm')!r}, "
        f"source_root={str(tmp_path / 'data')!r})\n"
        "assert [x['overlay'] for x in r] == ['source', 'source'] and r[0]['width'] >= 2 * 64, r\n"
    )
    assert imported_by(code) == {"matplotlib"}


def _calibrated(tmp_path: Path) -> tuple[Path, Path, Path]:
    from tests.unit.test_calibration_stage import outputs, write_predictions
    from videoxai.calibration.stage import calibrate

    preds = write_predictions(tmp_path / "test.parquet", 60, 1.0, seed=0)
    out = outputs(tmp_path / "a")
    calibrate(preds, **out, n_bins=5, bootstrap=2, title="t")
    return preds, out["out_metrics"], out["out_bins"]


def test_calibration_summary_runs_without_torch(tmp_path: Path) -> None:
    _, metrics, bins = _calibrated(tmp_path)
    code = (
        "from videoxai.calibration.stage import summarize\n"
        f"summarize([{str(metrics)!r}], [{str(bins)!r}], ['m'], {str(tmp_path / 's.csv')!r}, "
        f"{str(tmp_path / 's.tex')!r}, {str(tmp_path / 's.png')!r}, {str(tmp_path / 's.pdf')!r})\n"
    )
    assert imported_by(code) == {"matplotlib"}
    assert (tmp_path / "s.csv").is_file()


def test_calibrate_runs_without_torch(tmp_path: Path) -> None:
    """The whole calibrate job (bootstrap, temperature fitted on val predictions, figure) runs on numpy and scipy."""
    from tests.unit.test_calibration_stage import write_predictions

    preds, _, _ = _calibrated(tmp_path)
    val = write_predictions(tmp_path / "val.parquet", 40, 1.0, seed=1, split="val")
    code = (
        "from videoxai.calibration.stage import calibrate\n"
        f"m = calibrate({str(preds)!r}, {str(tmp_path / 'm.json')!r}, {str(tmp_path / 'b.parquet')!r}, "
        f"{str(tmp_path / 'r.png')!r}, {str(tmp_path / 'r.pdf')!r}, n_bins=5, bootstrap=2, title='t', "
        f"val_predictions={str(val)!r})\n"
        "assert m['temperature_scaled']['temperature'] > 0 and m['ece_ci95'] is not None\n"
    )
    assert imported_by(code) == {"matplotlib"}


def test_resolving_a_videoxai_checkpoint_imports_no_torch() -> None:
    """resolve reads config, weights header and sha256 as files: only a prompt-tuning run (built while resolving) needs
    torch. The job of a shipped demo checkpoint runs in a fraction of a second."""
    from videoxai.demo.bundled import bundled_checkpoints_root

    weights = bundled_checkpoints_root() / "stt" / "demo" / "tiny" / "model.safetensors"
    code = (
        "from videoxai.models.checkpoints.resolve import resolve_model\n"
        f"r = resolve_model('stt/demo/tiny', 'checkpoints', {{'stt/demo/tiny': {str(weights)!r}}}, fetch=False)\n"
        "assert r['method'] == 'stt' and len(r['sha256']) == 64, r\n"
    )
    assert imported_by(code) == set()


def test_a_finished_model_job_exits_at_once_with_its_log_flushed(tmp_path: Path) -> None:
    """exit_finished_job skips the interpreter's teardown (torch's costs 0.4 s) but loses nothing: exit status 0,
    the log complete, stdout flushed; a failing job never reaches it and exits 1 with its traceback."""
    log = tmp_path / "job.log"
    ok = (
        "import torch\n"
        "from videoxai.joblog import exit_finished_job, job_logging\n"
        f"with job_logging({str(log)!r}, 'demo_rule') as log:\n"
        "    log.info('worked')\n"
        "print('stdout line', end='')\n"
        "exit_finished_job()\n"
        "raise SystemExit('not reached')\n"
    )
    proc = subprocess.run([sys.executable, "-c", ok], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "stdout line"
    text = log.read_text()
    assert "worked" in text and "rule demo_rule done in" in text and "s of CPU)" in text
    failing = ok.replace("log.info('worked')", "raise ValueError('bad clip list')")
    proc = subprocess.run([sys.executable, "-c", failing], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 1 and "ValueError: bad clip list" in proc.stderr
    assert "rule demo_rule failed" in log.read_text()


@pytest.mark.parametrize("name", ["extract_predictions", "explain_clips"])
def test_model_job_scripts_end_with_a_fast_exit(name: str) -> None:
    """The last statement of each model job script, outside its logging block (a failure must raise first), and
    only in a process of its own: a test that runs the script in its process must go on."""
    tree = ast.parse((SCRIPTS / f"{name}.py").read_text())
    last = tree.body[-1]
    assert isinstance(last, ast.If) and ast.unparse(last.test) == "__name__ == '__main__'"
    assert [ast.unparse(s) for s in last.body] == ["exit_finished_job()"] and not last.orelse
