# track: optional wandb logging. Leaves only: turning wandb on or off never reruns anything upstream.


rule track_calibration:
    input:
        metrics=f"{CALIB}/metrics.json",
        bins=f"{CALIB}/bins.parquet",
        png=f"{CALIB_FIG}/reliability_diagram.png",
    output:
        f"{RESULTS}/wandb/records/{MODEL}/{{test}}/{{split}}/calibration.json",
    params:
        key=model_key,
        settings=WANDB_SETTINGS,
    log:
        f"logs/track_calibration/{MODEL}/{{test}}/{{split}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/track_calibration.py"


rule track_explanations:
    input:
        stats=f"{EXPLAIN_FIG}/aggregated_stats.json",
        videos=rendered_files("video_samples", "mp4"),
        maps=rendered_files("attention_maps", "png"),
    output:
        f"{RESULTS}/wandb/records/{MODEL}/{{test}}/{{split}}/{{explainer}}.json",
    params:
        key=model_key,
        settings=WANDB_SETTINGS,
    log:
        f"logs/track_explanations/{MODEL}/{{test}}/{{split}}/{{explainer}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/track_explanations.py"
