# The videos of each dataset split as one input file (videoxai.data.manifest): every job that decodes clips
# (extraction, explanation) takes it as an input, so a clip changed, replaced or removed reruns them, and
# nothing else does. Made here once; kept current while planning (checks.smk), rewritten only when a listed
# clip's content or the listing changed.


rule video_manifest:
    input:
        dataset=dataset_marker,
    output:
        MANIFEST,
    log:
        "logs/video_manifest/{test}/{base}.log",
    wildcard_constraints:
        base="train|val|test",
    conda:
        "../envs/videoxai.yaml"
    # reads every listed clip once (later plans hash only the clips whose size, mtime or ctime changed)
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        dataset=lambda w: dataset_config(w.test),
    script:
        "../scripts/video_manifest.py"
