# Config access, model keys, target lists and input functions shared by every stage.

from pathlib import Path

from videoxai.keys import ModelKey, ModelKeyError
from videoxai.models.resolve import find_checkpoint


def _fail(message):
    raise WorkflowError(message)


try:
    MODELS = [ModelKey.parse(k) for k in config["models"]]
except ModelKeyError as e:
    _fail(f"config key 'models': {e}")

DATASETS = config["datasets"]
_tests = config["dataset-test"]
TESTS = [_tests] if isinstance(_tests, str) else list(_tests)
for _t in TESTS:
    if _t not in DATASETS:
        _fail(f"config key 'dataset-test': {_t!r} is not one of the datasets configured under 'datasets': {sorted(DATASETS)}")

# Evaluation variants change the file name, so they never overwrite each other.
SPLIT = config["split"] + ("+tta" if config["use-augmentation"] else "") + ("+hand" if config["use-handcrafted-prompts"] else "")

_explainers = config["explainer-method"]
EXPLAINERS = [_explainers] if isinstance(_explainers, str) else list(_explainers)

DEMO_DATASETS = [name for name, d in DATASETS.items() if d.get("generate")]
CHECKPOINTS_ROOT = config["checkpoints-root"]

# Only wandb's own settings are rule parameters: the rest of the config never reaches a run.
WANDB_SETTINGS = {k: config[k] for k in ("use-wandb", "wandb-mode", "wandb-dir", "wandb-project", "wandb-entity") if config.get(k) is not None}

RESULTS = "results"
FIGURES = "figures"
MODEL = "{method}/{train}/{run}"
PRED = f"{RESULTS}/predictions/{MODEL}/{{test}}/{{split}}.parquet"
CALIB = f"{RESULTS}/calibration/{MODEL}/{{test}}/{{split}}"
CALIB_FIG = f"{FIGURES}/calibration/{MODEL}/{{test}}-{{split}}"
EXPLAIN = f"{RESULTS}/explain/{MODEL}/{{test}}/{{split}}"
EXPLAIN_FIG = f"{FIGURES}/explainer/{MODEL}/{{test}}-{{split}}/{{explainer}}"


wildcard_constraints:
    method=r"[A-Za-z0-9_.-]+",
    train=r"[A-Za-z0-9_.-]+",
    run=r"[A-Za-z0-9_.-]+",
    test=r"[A-Za-z0-9_.-]+",
    split=r"(train|val|test)(\+tta)?(\+hand)?",
    explainer=r"[a-z-]+",
    cls=r"\d+",
    idx=r"\d+",


def model_key(wildcards):
    return f"{wildcards.method}/{wildcards.train}/{wildcards.run}"


def is_demo_model(wildcards):
    return wildcards.train in DEMO_DATASETS and model_key(wildcards) not in config["checkpoint-paths"]


def checkpoint_file(wildcards):
    """The checkpoint behind a key: an input, so a new checkpoint reruns everything downstream."""
    key = model_key(wildcards)
    if is_demo_model(wildcards):
        return f"{CHECKPOINTS_ROOT}/{key}/model.safetensors"
    try:
        return str(find_checkpoint(key, CHECKPOINTS_ROOT, config["checkpoint-paths"]))
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))


def dataset_config(name):
    return dict(DATASETS[name], name=name)


def dataset_marker(wildcards):
    """A file that stands for the dataset: the demo's completion marker; nothing for data on disk."""
    d = DATASETS[wildcards.test]
    return [f"{d['root']}/DONE.json"] if d.get("generate") else []


def evaluation_options(split):
    return {
        "split": split.split("+")[0],
        "use-augmentation": "+tta" in split,
        "use-handcrafted-prompts": "+hand" in split,
    }


# Only the options an explainer uses are its parameters, so changing one reruns only that explainer.
EXPLAINER_KEYS = {
    "attention-rollout": ["use-cls-token", "head-fusion", "discard-ratio"],
    "grad-cam": [],
}


def explainer_options(wildcards):
    common = ["weighted-by-predictions", "target-class", "num-frames"]
    options = {k: config[k] for k in common + EXPLAINER_KEYS[wildcards.explainer]}
    options["target-class"] = str(options["target-class"]).lower()
    return {**evaluation_options(wildcards.split), **options}


def analyses():
    """Wildcards of every (model, test dataset) pair the config asks about."""
    return [dict(method=m.method, train=m.train, run=m.run, test=t, split=SPLIT) for m in MODELS for t in TESTS]


def calibration_files(name):
    return [CALIB.format(**w) + f"/{name}" for w in analyses()]


def analysis_labels():
    return [f"{w['method']}/{w['train']}/{w['run']} on {w['test']}" for w in analyses()]


def val_predictions(wildcards):
    """The val split's predictions, needed only to fit temperature scaling."""
    if not config["temperature-scaling"]:
        return []
    if config["temperature"] is not None:
        _fail("config keys 'temperature-scaling' and 'temperature': fit a temperature or fix one, not both")
    val_split = "val" + wildcards.split[len(wildcards.split.split("+")[0]) :]
    return PRED.format(**{**dict(wildcards.items()), "split": val_split})


def calibration_targets():
    figures = [CALIB_FIG.format(**w) + "/reliability_diagram.png" for w in analyses()]
    summary = [f"{RESULTS}/calibration/summary.csv", f"{FIGURES}/calibration/comparison.png"]
    return calibration_files("metrics.json") + figures + summary


def explain_targets():
    return [
        EXPLAIN_FIG.format(**w, explainer=e) + f"/{name}"
        for w in analyses()
        for e in EXPLAINERS
        for name in ("aggregated_stats.json", "gallery.html")
    ]


def tracking_targets():
    if not (config["use-wandb"] and config["wandb-mode"] != "disabled"):
        return []
    records = [f"{RESULTS}/wandb/records/{MODEL}/{{test}}/{{split}}".format(**w) for w in analyses()]
    return [r + "/calibration.json" for r in records] + [r + f"/{e}.json" for r in records for e in EXPLAINERS]
