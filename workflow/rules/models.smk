# resolve: model key -> the checkpoint file, its sha256, adapter, config and class names.


rule fetch_artifact:
    # a wandb artifact checkpoint (checkpoint-paths: {key: "wandb:entity/project/name:alias"}) into the
    # registry folder of its key; registry first, so once there it is used offline. The record is a copy
    # of the registry marker (name, version, digest): --forcerun fetch_artifact looks again.
    output:
        ARTIFACT_RECORD,
    params:
        key=model_key,
        artifact=checkpoint_source,
        checkpoints_root=CHECKPOINTS_ROOT,
    log:
        f"logs/fetch_artifact/{MODEL}.log",
    localrule: True  # network: on the submit host, not a compute node
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/fetch_artifact.py"


rule resolve_model:
    input:
        checkpoint=checkpoint_file,
        # a prompt-tuning run's CLIP backbone (HF cache snapshot named by its config's clip-model): a new one reruns all after
        backbone=backbone_files,
    output:
        RESOLVED,
    params:
        key=model_key,
        checkpoints_root=CHECKPOINTS_ROOT,
        # the file found for the key (registry, explicit path or the package's demo checkpoints),
        # or its wandb artifact (already fetched into the registry by fetch_artifact); checkpoint-file
        # already chose the file of a run folder (best.pt unless named)
        explicit=lambda w, input: {
            model_key(w): checkpoint_source(w) if is_artifact(checkpoint_source(w)) else input.checkpoint
        },
        # custom: {key: package.module:factory} builds this key's model (the module must be importable)
        custom=custom_factory,
    log:
        f"logs/resolve_model/{MODEL}{{ckpt}}.log",
    threads: 1
    resources:
        mem_mb=resolve_mem_mb,  # a prompt-tuning run is built once here (its CLIP backbone loaded) to check the context fits
        runtime=10,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/resolve_model.py"
