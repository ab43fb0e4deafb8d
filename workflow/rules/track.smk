# track: optional wandb logging. Leaves only: turning wandb on or off never reruns anything upstream.


rule track_calibration:
    input:
        metrics=CALIB_METRICS,
        bins=CALIB_BINS,
        png=CALIB_DIAGRAM,
    output:
        TRACK_CALIBRATION,
    log:
        f"logs/track_calibration/{MODEL}/{{test}}/{{split}}.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        key=model_key,
        settings=WANDB_SETTINGS,
    script:
        "../scripts/track_calibration.py"


rule track_explanations:
    input:
        stats=EXPLAIN_STATS,
        videos=EXPLAIN_VIDEOS,
        maps=EXPLAIN_MAPS,
    output:
        TRACK_EXPLANATIONS,
    log:
        f"logs/track_explanations/{MODEL}/{{test}}/{{split}}/{{explainer}}.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        key=model_key,
        settings=WANDB_SETTINGS,
    script:
        "../scripts/track_explanations.py"
