from videoxai.calibration.catalog import pick_results

# calibration: ECE and friends from the predictions alone. Its settings (conventions, n-bins, temperature-scaling,
# temperature) are part of the split's name (test+pt+b10+ts): a new setting makes new files beside the
# earlier ones and reads the same predictions. The job's parameters come from its path.


rule calibrate:
    input:
        predictions=predictions_file,
        val=val_predictions,
    output:
        metrics=CALIB_METRICS,
        bins=CALIB_BINS,
        png=report(
            CALIB_DIAGRAM,
            caption="../report/reliability_diagram.rst",
            category="Calibration",
            subcategory=f"{MODEL}",
            labels={"model": f"{MODEL}", "test": "{test}-{split}"},
        ),
        pdf=f"{CALIB_FIG}/reliability_diagram.pdf",
    log:
        f"logs/calibrate/{MODEL}/{{test}}/{{split}}.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        n_bins=lambda w: variant(w).n_bins,
        convention=lambda w: variant(w).convention,
        bootstrap=config["bootstrap"],
        temperature=lambda w: variant(w).temperature,
        title=lambda w: f"{model_key(w)} on {w.test} ({w.split})",
    script:
        "../scripts/calibrate.py"


# The summary covers every calibration result on disk (any config's variant) and the current config's: one row each.
rule calibration_summary:
    input:
        metrics=[r.metrics for r in summary_results()],
        bins=[r.bins for r in summary_results()],
    output:
        csv=report(
            CALIB_SUMMARY,
            caption="../report/calibration_summary.rst",
            category="Summary",
            labels={"figure": "calibration summary table"},
        ),
        tex=f"{RESULTS}/calibration/summary.tex",
        png=report(
            CALIB_COMPARISON,
            caption="../report/comparison.rst",
            category="Summary",
            labels={"figure": "reliability curves of all models"},
        ),
        pdf=f"{FIGURES}/calibration/comparison.pdf",
    log:
        "logs/calibration_summary.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        labels=[r.label for r in summary_results()],
        variants=[r.variant for r in summary_results()],
    script:
        "../scripts/calibration_summary.py"


# chosen results' reliability curves on one axis: `snakemake compare_curves --config compare='["video_coop/* on demo (test)",
# "stt/* on demo (test+b10)"]'`, patterns over the summary's labels (docs/comparisons.md)
rule compare_curves:
    input:
        metrics=lambda w: [r.metrics for r in pick_results(summary_results(), config.get("compare"))],
        bins=lambda w: [r.bins for r in pick_results(summary_results(), config.get("compare"))],
    output:
        png=f"{FIGURES}/calibration/compare.png",
        pdf=f"{FIGURES}/calibration/compare.pdf",
    log:
        "logs/compare_curves.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        labels=lambda w: [r.label for r in pick_results(summary_results(), config.get("compare"))],
    script:
        "../scripts/compare_curves.py"


# calibration under shift (docs/shift.md): each recalibration method fitted on the clean val split (or cross-fitted on
# the clean test split), scored with intervals on the clean and every corrupted test split, a reliability diagram per
# method; the table across them and Ovadia et al.-style box plots.
rule recalibrate:
    input:
        predictions=predictions_file,
        val=recalibration_val,
    output:
        csv=RECALIBRATION,
        png=report(
            RECALIBRATION_DIAGRAM,
            caption="../report/recalibration.rst",
            category="Calibration",
            subcategory=f"{MODEL}",
            labels={"model": f"{MODEL}", "test": "{test}-{split}", "figure": "recalibration"},
        ),
        pdf=RECALIBRATION_DIAGRAM_PDF,
    log:
        f"logs/recalibrate/{MODEL}/{{test}}/{{split}}{{zoo}}.log",
    wildcard_constraints:
        zoo=r"(\+[a-z0-9._-]+)*",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        methods=config["recalibration"],
        n_bins=lambda w: variant(w).n_bins,
        settings=recalibration_settings,
        title=lambda w: f"{model_key(w)} on {w.test} ({w.split})",
    script:
        "../scripts/recalibrate.py"


rule shift_summary:
    input:
        for_each_calibration(RECALIBRATION, zoo=ZOO),
    output:
        csv=SHIFT_TABLE,
        png=report(
            SHIFT_FIGURE,
            caption="../report/shift.rst",
            category="Summary",
            labels={"figure": "calibration under shift"},
        ),
        pdf=SHIFT_FIGURE_PDF,
    log:
        "logs/shift_summary.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/shift_summary.py"


rule shift_lines:
    input:
        SHIFT_TABLE,
    output:
        png=report(
            f"{SHIFT_LINES}.png",
            caption="../report/shift_lines.rst",
            category="Summary",
            labels={"figure": "calibration under {corruption}"},
        ),
        pdf=f"{SHIFT_LINES}.pdf",
        csv=f"{SHIFT_LINES}.csv",
        tex=f"{SHIFT_LINES}.tex",
    log:
        "logs/shift_lines/{corruption}.log",
    wildcard_constraints:
        corruption=r"[a-z0-9_]+",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/shift_lines.py"


# the transfer matrix (docs/shift.md): every configured model and mixture (rows, by its training dataset) on every
# test dataset (columns), clean split, accuracy and ECE with their bootstrap intervals
rule transfer_matrix:
    input:
        for_each_analysis(CALIB_METRICS),
    output:
        csv=TRANSFER_TABLE,
        tex=TRANSFER_TABLE_TEX,
        png=report(
            TRANSFER_FIGURE,
            caption="../report/transfer.rst",
            category="Summary",
            labels={"figure": "transfer matrix"},
        ),
        pdf=TRANSFER_FIGURE_PDF,
    log:
        "logs/transfer_matrix.log",
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=[f"{w['method']}/{w['train']}/{w['run']}" for w in analyses()],
        tests=[w["test"] for w in analyses()],
    script:
        "../scripts/transfer_matrix.py"
