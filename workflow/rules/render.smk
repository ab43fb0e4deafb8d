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
        mp4=f"{EXPLAIN_FIG}/video_samples/class_{{cls}}_sample_{{idx}}.mp4",
        png=f"{EXPLAIN_FIG}/attention_maps/class_{{cls}}_sample_{{idx}}.png",
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
