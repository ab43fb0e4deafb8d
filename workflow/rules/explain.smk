# select, then explain. The selection is a file that explain and render read; what downstream makes of it is
# one heatmaps file and one folder per explainer whatever clips it names, so select is an ordinary rule: the
# whole job graph is known when planning (`snakemake -n` lists every explanation before any clip is chosen).
# select reads everything it needs from the predictions (their class list, class mapping and views);
# explain sets the model up as extraction did, so the (test, train) pair's class mapping is its parameter
# too (a CSV mapping an input): editing it reruns extraction, selection and explanation of that pair.
# Explanation draws maps over one view (the segment centres), whatever num-temporal-views (+v{V}) is.
# `conventions` is a param of explain_clips only where the method has a prompt-tuning form (prompt-tuning's rollout variants
# and Grad-CAM): switching it reruns those explanations and nothing upstream.
# {explainer} is the folder: the method and +{name}-{value} for each of its settings not at its default, the
# selection's last (videoxai.explain.variant); {selection} is that last part: selection.json at the defaults.


rule select_clips:
    input:
        predictions=predictions_file,
        ground_truth=lambda w: ground_truth_files(w) if selection_settings(w)["prefer-annotated"] else [],
    output:
        SELECTION,
    log:
        f"logs/select_clips/{MODEL}/{{test}}/{{split}}{{selection}}.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    # the settings the selection's name gives ({selection}: +classes-8+seed-1, none at the defaults), so a second
    # selection never overwrites the first and an earlier one rebuilds with its own settings
    params:
        prefer_annotated=annotated_dataset,
        classes_to_map=lambda w: selection_settings(w)["classes-to-map"],
        samples_per_class=lambda w: selection_settings(w)["samples-per-class"],
        classes_to_mix=lambda w: selection_settings(w)["classes-to-mix"],
        mix_mode=lambda w: selection_settings(w)["mix-mode"],
        selection_seed=lambda w: selection_settings(w)["selection-seed"],
    script:
        "../scripts/select_clips.py"


rule explain_clips:
    input:
        selection=selection_file,
        resolved=resolved_file,
        dataset=dataset_marker,
        class_mapping=class_mapping_file,
        # the split's video manifest: a changed clip reruns this job (checks.smk, manifest.smk)
        videos=video_manifest,
    output:
        HEATMAPS,
    log:
        f"logs/explain_clips/{MODEL}/{{test}}/{{split}}/{{explainer}}.log",
    conda:
        "../envs/videoxai.yaml"
    # one core: the few selected clips decode in the job's own process (each one's deletion, insertion and
    # randomisation passes cost many times its decoding), so explanations run side by side, one per core;
    # --set-threads explain_clips=N gives a job decoding workers and torch threads (videoxai.setup.threads)
    threads: 1
    # estimated from the model's footprint, the explainer, the clips explained together (explain-batch-size)
    # and the evaluation (common.smk, docs/resources.md); the job fits its batch to the mem_mb it is given
    resources:
        mem_mb=explain_mem_mb,
        runtime=explain_runtime,
    params:
        dataset=lambda w: dataset_config(w.test),
        options=explainer_options,
        class_mapping=class_mapping,
        conventions=explain_convention,
        label_order=label_order,
    script:
        "../scripts/explain_clips.py"


# The explanation summary reads the heatmaps file alone (never the videos), so it does not wait for rendering.
rule aggregate_explanations:
    input:
        heatmaps=HEATMAPS,
        ground_truth=ground_truth_files,
    output:
        stats=report(
            EXPLAIN_STATS,
            caption="../report/explanation_scores.rst",
            category=f"Explanations/{MODEL}",
            subcategory="{explainer}",
            labels={"page": "scores (aggregated_stats.json)", "test": "{test}-{split}"},
        ),
    log:
        f"logs/aggregate_explanations/{MODEL}/{{test}}-{{split}}/{{explainer}}.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        dataset=lambda w: dataset_config(w.test),
    script:
        "../scripts/aggregate_explanations.py"


# The leaderboard: every explainer folder on disk (any config's variant) and the config's, models x explainers x
# scores, each a clip mean with its bootstrap 95% interval, the random-map and centre-prior baselines as rows; from
# the same folders, the sanity check's similarity curve over the layers randomised (videoxai.explain.sanity).
rule explanation_summary:
    input:
        stats=[r.stats for r in leaderboard_results()],
    output:
        csv=report(
            EXPLAIN_SUMMARY,
            caption="../report/explanation_leaderboard.rst",
            category="Summary",
            labels={"figure": "explanation leaderboard table"},
        ),
        tex=EXPLAIN_SUMMARY_TEX,
        png=report(
            EXPLAIN_LEADERBOARD,
            caption="../report/explanation_leaderboard.rst",
            category="Summary",
            labels={"figure": "explanation leaderboard"},
        ),
        pdf=EXPLAIN_LEADERBOARD_PDF,
        sanity=report(
            EXPLAIN_SANITY,
            caption="../report/explanation_sanity.rst",
            category="Summary",
            labels={"figure": "explanation sanity check table"},
        ),
        sanity_png=report(
            EXPLAIN_SANITY_FIGURE,
            caption="../report/explanation_sanity.rst",
            category="Summary",
            labels={"figure": "explanation sanity check"},
        ),
        sanity_pdf=EXPLAIN_SANITY_FIGURE_PDF,
    log:
        "logs/explanation_summary.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        results=[r.__dict__ for r in leaderboard_results()],
        resamples=1000,
    script:
        "../scripts/explanation_summary.py"
