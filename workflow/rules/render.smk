# render: one job per explainer folder renders every clip the heatmaps file holds (the selected clips), then the
# gallery page. One process pays the start-up once for all of a folder's clips; an added explainer, or a changed
# render option, reruns only the folders it touches. The videos and attention maps are directory outputs marked
# for the report with file patterns, so `snakemake --report` still lists every video and map on its own.


rule render_explanations:
    input:
        heatmaps=HEATMAPS,
    output:
        videos=report(
            directory(EXPLAIN_VIDEOS),
            patterns=["{name}.mp4"],
            caption="../report/video_gallery.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer} videos",
            labels={"clip": "{name}", "test": "{test}-{split}"},
        ),
        maps=report(
            directory(EXPLAIN_MAPS),
            patterns=["{name}.png"],
            caption="../report/attention_map.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer}",
            labels={"clip": "{name}", "test": "{test}-{split}"},
        ),
        gallery=report(
            EXPLAIN_GALLERY,
            caption="../report/video_gallery.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer}",
            labels={"page": "video gallery", "test": "{test}-{split}"},
        ),
    log:
        f"logs/render_explanations/{MODEL}/{{test}}-{{split}}/{{explainer}}.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        colormap=render_colormap,
        alpha=config["alpha"],
        fps=config["fps"],
        # overlay: source draws over the decoded original frames (their own resolution), model over the model's input
        source_root=lambda w: dataset_config(w.test)["root"] if config["overlay"] == "source" else None,
        title=lambda w: f"{model_key(w)}: {w.explainer} on {w.test} ({w.split})",
    script:
        "../scripts/render_explanations.py"
