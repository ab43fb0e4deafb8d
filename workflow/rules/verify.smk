# `snakemake --cores 1 verify` recomputes nothing: it checks every output of the current config (decoding
# videos and images) and lists what is missing or broken, exiting non-zero when anything is. The checks that
# run while planning, and the output list, are in checks.smk.


rule verify:
    # no inputs: asking for it never builds anything
    localrule: True
    params:
        files=lambda w: expected_outputs(),
    log:
        "logs/verify.log",
    conda:
        "../envs/videoxai.yaml"
    script:
        "../scripts/verify_outputs.py"
