# `snakemake --cores 1 verify` recomputes nothing: it checks every output of the current config (every byte
# against its content record, its inputs against the hashes it was made from, videos and images decoded) and
# lists what is missing, damaged or stale, exiting non-zero with the one command that rebuilds them. The
# checks that run while planning, and the output list, are in checks.smk.


rule verify:
    log:
        "logs/verify.log",
    # no inputs: asking for it never builds anything
    localrule: True
    conda:
        "../envs/videoxai.yaml"
    params:
        files=lambda w: expected_outputs(),
    script:
        "../scripts/verify_outputs.py"
