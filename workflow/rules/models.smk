# resolve: model key -> the checkpoint file, its sha256, adapter, config and class names.


rule resolve_model:
    input:
        checkpoint=checkpoint_file,
    output:
        RESOLVED,
    params:
        key=model_key,
        checkpoints_root=CHECKPOINTS_ROOT,
        # the file found for the key (registry, explicit path or the package's demo checkpoints)
        explicit=lambda w, input: {model_key(w): input.checkpoint},
    log:
        f"logs/resolve_model/{MODEL}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/resolve_model.py"
