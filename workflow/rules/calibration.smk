# calibration: ECE and friends from the predictions alone, so changing n-bins reruns nothing upstream.


rule calibrate:
    input:
        predictions=PRED,
        val=val_predictions,
    output:
        metrics=f"{CALIB}/metrics.json",
        bins=f"{CALIB}/bins.parquet",
        png=report(
            f"{CALIB_FIG}/reliability_diagram.png",
            caption="../report/reliability_diagram.rst",
            category="Calibration",
            subcategory=f"{MODEL}",
            labels={"model": f"{MODEL}", "test": "{test}-{split}"},
        ),
        pdf=f"{CALIB_FIG}/reliability_diagram.pdf",
    params:
        n_bins=config["n-bins"],
        bootstrap=config["bootstrap"],
        temperature=config["temperature"],
        title=lambda w: f"{model_key(w)} on {w.test} ({w.split})",
    log:
        f"logs/calibrate/{MODEL}/{{test}}/{{split}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/calibrate.py"


rule calibration_summary:
    input:
        metrics=calibration_files("metrics.json"),
        bins=calibration_files("bins.parquet"),
    output:
        csv=report(
            f"{RESULTS}/calibration/summary.csv",
            caption="../report/calibration_summary.rst",
            category="Summary",
            labels={"figure": "calibration summary table"},
        ),
        tex=f"{RESULTS}/calibration/summary.tex",
        png=report(
            f"{FIGURES}/calibration/comparison.png",
            caption="../report/comparison.rst",
            category="Summary",
            labels={"figure": "reliability curves of all models"},
        ),
        pdf=f"{FIGURES}/calibration/comparison.pdf",
    params:
        labels=analysis_labels(),
    log:
        "logs/calibration_summary.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/calibration_summary.py"
