# calibration: ECE and friends from the predictions alone, so changing n-bins reruns nothing upstream.


rule calibrate:
    input:
        predictions=PRED,
    output:
        metrics=f"{CALIB}/metrics.json",
        bins=f"{CALIB}/bins.parquet",
        png=f"{CALIB_FIG}/reliability_diagram.png",
        pdf=f"{CALIB_FIG}/reliability_diagram.pdf",
    params:
        n_bins=config["n-bins"],
        bootstrap=config["bootstrap"],
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
        csv=f"{RESULTS}/calibration/summary.csv",
        tex=f"{RESULTS}/calibration/summary.tex",
        png=f"{FIGURES}/calibration/comparison.png",
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
