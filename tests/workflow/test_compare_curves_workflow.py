"""`snakemake compare_curves --config compare=[...]`: chosen results' reliability curves on one axis, for real.

The chosen rows may be results on disk of an earlier config (test) and the current config's, made by the same run
(test+b10); a pattern that matches nothing is a one-line error naming the labels there are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake

pytestmark = pytest.mark.workflow

SMALL = {**TINY_DEMO, "explainer-method": "attention-rollout"}
PNG = "figures/calibration/compare.png"


def test_compare_curves_draws_the_chosen_results(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, SMALL)
    first = run_snakemake(workdir, "--cores", "2", "calibration", timeout=900)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]

    none = run_snakemake(workdir, "-n", "compare_curves", timeout=300)
    assert none.returncode != 0 and "compare_curves needs the results to draw" in none.stdout + none.stderr

    wrong = run_snakemake(workdir, "-n", "compare_curves", "--config", 'compare=["nothing*"]', timeout=300)
    out = wrong.stdout + wrong.stderr
    assert wrong.returncode != 0 and "'nothing*' matches no calibration result" in out, out[-3000:]
    assert "'video_coop/demo/tiny on demo (test)'" in out

    chosen = 'compare=["video_coop/* on demo (test)", "*/demo/tiny on demo (test+b10)"]'
    second = run_snakemake(workdir, "--cores", "2", "compare_curves", "--config", "n-bins=10", chosen, timeout=900)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert (workdir / "results/calibration/video_coop/demo/tiny/demo/test+b10/metrics.json").is_file()
    log = (workdir / "logs/compare_curves.log").read_text()
    want = ["video_coop/demo/tiny on demo (test)", "video_coop/demo/tiny on demo (test+b10)"]
    assert f"drawing 2 curves: {want}" in log, log
    png = (workdir / PNG).read_bytes()
    assert png.startswith(b"\x89PNG") and (workdir / "figures/calibration/compare.pdf").stat().st_size > 0

    # another choice redraws the figure; the same one again has nothing to do
    fewer = run_snakemake(workdir, "--cores", "1", "compare_curves", "--config", 'compare=["*(test+b10)"]', timeout=600)
    assert fewer.returncode == 0, (fewer.stdout + fewer.stderr)[-4000:]
    assert (
        "drawing 1 curves: ['video_coop/demo/tiny on demo (test+b10)']"
        in (workdir / "logs/compare_curves.log").read_text()
    )
    assert (workdir / PNG).read_bytes() != png
    again = run_snakemake(workdir, "-n", "compare_curves", "--config", 'compare=["*(test+b10)"]', timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr
