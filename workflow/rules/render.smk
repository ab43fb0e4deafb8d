# render: one small job per selected clip (grouped on a cluster), then per-folder statistics.


def selected_clips(wildcards):
    """(class index, sample index) of every clip the select checkpoint chose."""
    selection = checkpoints.select_clips.get(
        method=wildcards.method, train=wildcards.train, run=wildcards.run, test=wildcards.test, split=wildcards.split
    ).output[0]
    import json

    with open(selection) as f:
        clips = json.load(f)["clips"]
    return [(c["class_index"], c["sample_index"]) for c in clips]


def rendered_files(kind, ext):
    def files(wildcards):
        return [
            EXPLAIN_FIG.format(**wildcards) + f"/{kind}/class_{x}_sample_{y}.{ext}" for x, y in selected_clips(wildcards)
        ]

    return files


rule render_clip:
    input:
        heatmaps=f"{EXPLAIN}/{{explainer}}/heatmaps.safetensors",
    output:
        mp4=report(
            f"{EXPLAIN_FIG}/video_samples/class_{{cls}}_sample_{{idx}}.mp4",
            caption="../report/video_gallery.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer} videos",
            labels={"clip": "class {cls} sample {idx}", "test": "{test}-{split}"},
        ),
        png=report(
            f"{EXPLAIN_FIG}/attention_maps/class_{{cls}}_sample_{{idx}}.png",
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
    script:
        "../scripts/render_clip.py"


rule aggregate_explanations:
    input:
        heatmaps=f"{EXPLAIN}/{{explainer}}/heatmaps.safetensors",
        videos=rendered_files("video_samples", "mp4"),
        maps=rendered_files("attention_maps", "png"),
    output:
        stats=f"{EXPLAIN_FIG}/aggregated_stats.json",
    params:
        dataset=lambda w: dataset_config(w.test),
    log:
        f"logs/aggregate_explanations/{MODEL}/{{test}}-{{split}}/{{explainer}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/aggregate_explanations.py"


rule gallery:
    input:
        videos=rendered_files("video_samples", "mp4"),
        maps=rendered_files("attention_maps", "png"),
    output:
        report(
            f"{EXPLAIN_FIG}/gallery.html",
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
    script:
        "../scripts/gallery.py"
