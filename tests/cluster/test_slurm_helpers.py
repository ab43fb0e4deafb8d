"""The parsers the cluster tests rely on, on text captured from SLURM 22.05 and Snakemake 9 (no cluster needed)."""

from __future__ import annotations

from tests.cluster.slurm import (
    job_ids_in_log,
    parse_key_values,
    parse_scontrol_oneliner,
    slurm_cpus_by_job,
    submitted_job_ids,
)

SCONTROL = (
    "JobId=4 JobName=a3cf4140-33a8 UserId=root(0) JobState=COMPLETED Reason=None ExitCode=0:0 "
    "Partition=videoxai NodeList=vm TRES=cpu=1,mem=200M,node=1,billing=1 JOB_GRES=gpu:1   "
    "Nodes=vm CPU_IDs=0 Mem=200 GRES= Comment=rule_explain_clips  StdErr=/tmp/x/4.log "
    "Power= TresPerJob=gres:gpu:1 "
)


def test_scontrol_oneliner_fields() -> None:
    job = parse_scontrol_oneliner(SCONTROL)
    assert job["JobId"] == "4"
    assert job["JobState"] == "COMPLETED"
    assert job["TRES"] == "cpu=1,mem=200M,node=1,billing=1"
    assert job["JOB_GRES"] == "gpu:1"
    assert job["GRES"] == ""
    assert job["Comment"] == "rule_explain_clips"
    assert job["TresPerJob"] == "gres:gpu:1"
    assert job["Power"] == ""


def test_setup_report_ignores_log_lines() -> None:
    text = "slurm-setup: node vm is idle\nnode=vm\npartition=videoxai\nmunged_pid=12\n"
    assert parse_key_values(text) == {"node": "vm", "partition": "videoxai", "munged_pid": "12"}


def test_job_ids_in_log_skip_runs_outside_slurm() -> None:
    text = "SLURM_JOB_ID=none host=a\n08:00 INFO rule x on vm (pid 3, SLURM_JOB_ID=17, videoxai 0.1)\nSLURM_JOB_ID=18\n"
    assert job_ids_in_log(text) == ["17", "18"]


def test_submitted_job_ids_map_to_rules_and_groups() -> None:
    out = (
        "Job 2 has been submitted with SLURM jobid 4 (log: /tmp/mini/logs/slurm/rule_explain_clips/4.log).\n"
        "Job 7 has been submitted with SLURM jobid 12 (log: /w/logs/slurm/rule_calibrate/video_coop_demo/12.log).\n"
        "Job 0a69 has been submitted with SLURM jobid 33 (log: /w/logs/slurm/group_render_render_clip/33.log).\n"
    )
    assert submitted_job_ids(out) == {
        "4": "rule_explain_clips",
        "12": "rule_calibrate",
        "33": "group_render_render_clip",
    }


def test_threads_joined_with_slurm_job_ids() -> None:
    out = (
        "[Thu Nov 26 09:28:00 2026]\n"
        "rule extract_predictions:\n"
        "    output: results/predictions/a.parquet\n"
        "    jobid: 4\n"
        "    threads: 2\n"
        "    resources: tmpdir=<TBD>, mem_mb=6000, gpu=1\n"
        "Shell command: None\n"
        "Job 4 has been submitted with SLURM jobid 111 (log: /w/logs/slurm/rule_extract_predictions/x/111.log).\n"
        "[Thu Nov 26 09:28:34 2026]\n"
        "checkpoint select_clips:\n"
        "    jobid: 10\n"
        "    resources: tmpdir=<TBD>\n"
        "Job 10 has been submitted with SLURM jobid 113 (log: /w/logs/slurm/rule_select_clips/x/113.log).\n"
        "[Thu Nov 26 09:30:10 2026] Group job render (jobs in lexicogr. order):\n"
        "    rule render_clip:\n"
        "        jobid: 28\n"
    )
    assert slurm_cpus_by_job(out) == {"111": ("extract_predictions", 2), "113": ("select_clips", 1)}
