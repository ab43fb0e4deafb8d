# resolve: model key -> the checkpoint file, its sha256, adapter, config and class names.


rule fetch_artifact:
    # a wandb artifact checkpoint (checkpoint-paths: {key: "wandb:entity/project/name:alias"}) into the
    # registry folder of its key; registry first, so once there it is used offline. The record is a copy
    # of the registry marker (name, version, digest): --forcerun fetch_artifact looks again.
    output:
        ARTIFACT_RECORD,
    log:
        f"logs/fetch_artifact/{MODEL}.log",
    localrule: True  # network: on the submit host, not a compute node
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        key=model_key,
        artifact=checkpoint_source,
        checkpoints_root=CHECKPOINTS_ROOT,
    script:
        "../scripts/fetch_artifact.py"


rule backbone_record:
    # a prompt-tuning run's CLIP backbone: its files' names and sha256, one record per snapshot (or folder) for every
    # model that uses it. The files are this job's inputs, so a changed one remakes the record (and reruns resolve).
    input:
        backbone_files,
    output:
        BACKBONE_RECORD,
    log:
        "logs/backbone_record/{backbone}.log",
    wildcard_constraints:
        backbone=r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        name=backbone_name_of,
    script:
        "../scripts/backbone_record.py"


rule resolve_model:
    input:
        checkpoint=checkpoint_file,
        # a prompt-tuning run's CLIP backbone (HF cache snapshot named by its config's clip-model), by its files' record:
        # a new snapshot or a changed file reruns all after
        backbone=backbone_record,
    output:
        RESOLVED,
    log:
        f"logs/resolve_model/{MODEL}{{ckpt}}.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=resolve_mem_mb,  # a prompt-tuning run is built once here (its CLIP backbone loaded) to check the context fits
        runtime=10,
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
    script:
        "../scripts/resolve_model.py"
