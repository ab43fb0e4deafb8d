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
    params:
        n_bins=lambda w: variant(w).n_bins,
        convention=lambda w: variant(w).convention,
        bootstrap=config["bootstrap"],
        temperature=lambda w: variant(w).temperature,
        title=lambda w: f"{model_key(w)} on {w.test} ({w.split})",
    log:
        f"logs/calibrate/{MODEL}/{{test}}/{{split}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/videoxai.yaml"
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
    params:
        labels=[r.label for r in summary_results()],
        variants=[r.variant for r in summary_results()],
    log:
        "logs/calibration_summary.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/calibration_summary.py"
