"""`snakemake -n` refuses an explainer the chosen conventions cannot define, before any job, in one line.

Prompt-tuning's Grad-CAM under ``conventions: prompt-tuning`` on prompt-tuning's own run folders would make every map
0 / 0: each explain job used to fail after its model ran (issue #27). The run folders and the tiny CLIP are
``../shared/origin-fixtures`` (skipped where absent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_snakemake
from tests.workflow.test_prompt_tuning_workflow import KEYS, hf_env, runs_workdir

pytestmark = [pytest.mark.workflow]

FIRST_LINE = (
    "config key 'explainer-method': grad-cam is not defined under conventions: prompt-tuning for "
    "video_coop/ucf101/best-attention-0, stt/ucf101/best-mean (prompt-tuning's own models: its Grad-CAM hooks the "
    "last CLIP layer's layer_norm2, whose image tokens get no gradient, so every map is 0 / 0); "
    "set explainer-method: [attention-rollout], or conventions: standard"
)


def test_grad_cam_under_prompt_tuning_is_refused_while_planning(tmp_path: Path) -> None:
    wd = runs_workdir(tmp_path)
    proc = run_snakemake(wd, "-n", "--config", "conventions=prompt-tuning", env=hf_env(wd))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert FIRST_LINE in lines, out  # the message's first (and only) line, as Snakemake prints it
    assert lines[lines.index(FIRST_LINE) - 1].startswith("WorkflowError"), out  # Snakemake's header, then the message
    assert "Traceback" not in out and "Building DAG" not in out and len(lines) < 8, out
    assert not (wd / "results").exists()
    # the list it names plans: the same keys with the rollout alone
    ok = run_snakemake(
        wd, "-n", "--config", "conventions=prompt-tuning", "explainer-method=[attention-rollout]", env=hf_env(wd)
    )
    assert ok.returncode == 0, (ok.stdout + ok.stderr)[-3000:]
    assert len(KEYS) == 2
