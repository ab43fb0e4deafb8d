# extract: batched inference over a dataset split, streamed to a Parquet file of predictions.
# Speed settings (batch-size, num-workers, decoder, device) are read from the config in the script,
# not rule parameters: changing them never reruns a finished job. Evaluation options that change the
# numbers are in the file name (+tta, +hand, +v{V}: variants never overwrite each other); the class
# mapping of the (test, train) pair is a parameter (and its CSV file an input): editing it reruns this job.


rule extract_predictions:
    input:
        resolved=resolved_file,
        dataset=dataset_marker,
        class_mapping=class_mapping_file,
        # the split's video manifest: a changed clip reruns this job (checks.smk, manifest.smk)
        videos=video_manifest,
    output:
        PRED,
    log:
        f"logs/extract_predictions/{MODEL}/{{test}}/{{split}}.log",
    # a mixture's predictions are made from its members' (mixture.smk), never by running a model
    wildcard_constraints:
        method=r"(?!mixture/)[A-Za-z0-9_.-]+",
    conda:
        "../envs/videoxai.yaml"
    # the main process and num-workers decoding workers (videoxai.setup.threads), but at most half the cores:
    # two model jobs then run side by side, and one's start (importing torch, loading the model) overlaps the
    # other's work; --set-threads extract_predictions=N overrides it
    threads: min(config["num-workers"] + 1, max(1, workflow.cores // 2))
    # what the job holds (the model's weights, a batch of clips in flight, one forward's working set) and how long
    # it runs, estimated from the checkpoint's and backbone's configs: common.smk, docs/resources.md
    resources:
        mem_mb=extract_mem_mb,
        runtime=extract_runtime,
    params:
        dataset=lambda w: dataset_config(w.test),
        options=split_variant_options,
        # frames per view: the model's own, the config's num-frames for it, or its split's +f{N} (common.smk)
        num_frames=model_frames,
        class_mapping=class_mapping,
        label_order=label_order,
        corruption_seed=split_corruption_seed,
    script:
        "../scripts/extract_predictions.py"
