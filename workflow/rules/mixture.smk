# mixture: a mixture model's predictions from its members' cached predictions (no model runs), and the notice that
# explainers skip it (it has no network). Keys mixture/{train}/{name} (config key `mixtures`); the mixture is then
# calibrated and summarised like any model. `conventions` is a parameter: prompt-tuning's mixture hands on its
# probabilities where logits are expected, the standard one its log-probabilities (videoxai.extract.mixture).


rule mix_predictions:
    input:
        members=mixture_member_predictions,
    output:
        PRED,
    log:
        f"logs/mix_predictions/{MODEL}/{{test}}/{{split}}.log",
    wildcard_constraints:
        method=MIXTURE_METHOD,
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        mixture=lambda w: MIXTURES[model_key(w)].to_dict(),
        convention=lambda w: variant(w).convention,  # +pt in its split name: a variant of its own
    script:
        "../scripts/mix_predictions.py"


rule explain_skipped:
    output:
        EXPLAIN_SKIPPED,
    log:
        f"logs/explain_skipped/{MODEL}/{{test}}/{{split}}/{{explainer}}.log",
    wildcard_constraints:
        method=MIXTURE_METHOD,
    localrule: True
    conda:
        "../envs/videoxai.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        mixture=lambda w: MIXTURES[model_key(w)].to_dict(),
    script:
        "../scripts/explain_skipped.py"
