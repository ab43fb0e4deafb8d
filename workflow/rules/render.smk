# render: one small job per selected clip (grouped on a cluster), then per-folder statistics.


rule render_clip:
    input:
        heatmaps=HEATMAPS,
    output:
        mp4=report(
            VIDEO,
            caption="../report/video_gallery.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer} videos",
            labels={"clip": "class {cls} sample {idx}", "test": "{test}-{split}"},
        ),
        png=report(
            ATTENTION_MAP,
            caption="../report/attention_map.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer}",
            labels={"clip": "class {cls} sample {idx}", "test": "{test}-{split}"},
        ),
    params:
        colormap=config["colormap"],
        alpha=config["alpha"],
        fps=config["fps"],
    log:
        f"logs/render_clip/{MODEL}/{{test}}-{{split}}/{{explainer}}/class_{{cls}}_sample_{{idx}}.log",
    group:
        "render"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/render_clip.py"


rule aggregate_explanations:
    input:
        heatmaps=HEATMAPS,
        videos=rendered(VIDEO),
        maps=rendered(ATTENTION_MAP),
    output:
        stats=EXPLAIN_STATS,
    params:
        dataset=lambda w: dataset_config(w.test),
    log:
        f"logs/aggregate_explanations/{MODEL}/{{test}}-{{split}}/{{explainer}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/aggregate_explanations.py"


rule gallery:
    input:
        videos=rendered(VIDEO),
        maps=rendered(ATTENTION_MAP),
    output:
        report(
            EXPLAIN_GALLERY,
            caption="../report/video_gallery.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer}",
            labels={"page": "video gallery", "test": "{test}-{split}"},
        ),
    params:
        title=lambda w: f"{model_key(w)}: {w.explainer} on {w.test} ({w.split})",
    log:
        f"logs/gallery/{MODEL}/{{test}}-{{split}}/{{explainer}}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/gallery.py"
