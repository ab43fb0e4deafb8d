# The embedded demo: a synthetic action dataset in UCF101's layout, and tiny models trained on it.

from videoxai.demo.dataset import FORMAT_VERSION as DEMO_FORMAT_VERSION


rule demo_dataset:
    output:
        f"{{root}}/DONE.json",
    log:
        "logs/demo_dataset/{root}.log",
    wildcard_constraints:
        root="|".join(DATASETS[d]["root"] for d in DEMO_DATASETS) or "(?!)",
    conda:
        "../envs/videoxai.yaml"
    # clips are generated and encoded in parallel (each has its own random stream: the files do not depend
    # on the count); it is the first job and everything else waits for it
    threads: 8
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        n_train=config["demo"]["n-train"],
        n_test=config["demo"]["n-test"],
        seed=config["demo"]["seed"],
        # the layout's version (2: puppet-mask annotations): a demo written by an older version is rebuilt
        format_version=DEMO_FORMAT_VERSION,
    script:
        "../scripts/demo_dataset.py"


rule train_demo:
    input:
        dataset=lambda w: f"{DATASETS[w.train]['root']}/DONE.json",
    output:
        weights=f"{CHECKPOINTS_ROOT}/{{method}}/{{train}}/{{run}}/model.safetensors",
        config=f"{CHECKPOINTS_ROOT}/{{method}}/{{train}}/{{run}}/config.json",
        report=f"{CHECKPOINTS_ROOT}/{{method}}/{{train}}/{{run}}/train_report.json",
    log:
        "logs/train_demo/{method}/{train}/{run}.log",
    wildcard_constraints:
        train="|".join(DEMO_DATASETS) or "(?!)",
    conda:
        "../envs/videoxai.yaml"
    # one thread: float reductions (and so the weights) depend on the thread count; the shipped
    # checkpoints were trained with one. Clips decode in DataLoader worker processes besides.
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        seed=config["demo"]["seed"],
        steps=config["demo"].get("train-steps", 1000),
        # null: exactly `train-steps` steps, so --forcerun train_demo reproduces the shipped checkpoints
        max_seconds=config["demo"].get("train-seconds"),
    script:
        "../scripts/train_demo.py"
