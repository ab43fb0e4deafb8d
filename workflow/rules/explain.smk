# select (a checkpoint: which clips exist downstream is known only after it runs), then explain.


checkpoint select_clips:
    input:
        predictions=PRED,
    output:
        SELECTION,
    params:
        classes_to_map=config["classes-to-map"],
        samples_per_class=config["samples-per-class"],
        classes_to_mix=config["classes-to-mix"],
        mix_mode=config["mix-mode"],
        seed=config["demo"]["seed"],
    log:
        f"logs/select_clips/{MODEL}/{{test}}/{{split}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/select_clips.py"


rule explain_clips:
    input:
        selection=SELECTION,
        resolved=RESOLVED,
        dataset=dataset_marker,
    output:
        HEATMAPS,
    params:
        dataset=lambda w: dataset_config(w.test),
        options=explainer_options,
    log:
        f"logs/explain_clips/{MODEL}/{{test}}/{{split}}/{{explainer}}.log",
    threads: min(config["num-workers"] + 1, workflow.cores)
    resources:
        mem_mb=6000,
        runtime=60,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/explain_clips.py"
