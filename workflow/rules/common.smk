# Config access, model keys, target lists and input functions shared by every stage.

import dataclasses
import functools
import os
from pathlib import Path

from snakemake.iocontainers import Wildcards

from videoxai.calibration.catalog import find_calibration_results, result_at
from videoxai.calibration.shift import ZooSettings
from videoxai.conventions import label_order as conventions_label_order
from videoxai.explain.leaderboard import find_explanation_results, stats_at
from videoxai.explain.options import METHOD_OPTIONS as EXPLAINER_METHODS, effective_convention, job_options
from videoxai.explain.variant import (
    EXPLAINER_VARIANT_PATTERN,
    SELECTION_VARIANT_PATTERN,
    ExplainerVariant,
    ExplainerVariantError,
    SelectionVariant,
)
from videoxai.keys import (
    CHECKPOINT_SUFFIX,
    SPLIT_VARIANT_PATTERN,
    ModelKey,
    ModelKeyError,
    SplitVariant,
    SplitVariantError,
)
from videoxai.demo.bundled import bundled_checkpoints_root
from videoxai.models.checkpoints.files import CONFIG_NAME, WEIGHT_SUFFIXES, WEIGHTS_NAME
from videoxai.models.checkpoints.hf_cache import locate_backbone
from videoxai.models.checkpoints.locate import find_checkpoint
from videoxai.models.families.prompt_tuning.run_folder import backbone_name, explicit_paths, run_config_beside
from videoxai.models.checkpoints.wandb_artifact import is_artifact
from videoxai.extract.mixture_config import MIXTURE_METHOD, is_mixture_key, parse_mixtures
from videoxai.setup.frames import frame_support, plan_frames


def _fail(message):
    raise WorkflowError(message)


try:
    MODELS = [ModelKey.parse(k) for k in config["models"]]
except ModelKeyError as e:
    _fail(f"config key 'models': {e}")

# Mixture models (mixture/{train}/{name}: members and weights) are analysed after the models, from their predictions.
try:
    MIXTURES = parse_mixtures(config["mixtures"])
except ValueError as e:
    _fail(str(e))
ANALYSED = [*MODELS, *(ModelKey.parse(k) for k in MIXTURES)]

DATASETS = config["datasets"]
_tests = config["dataset-test"]
TESTS = [_tests] if isinstance(_tests, str) else list(_tests)
for _t in TESTS:
    if _t not in DATASETS:
        _fail(
            f"config key 'dataset-test': {_t!r} is not one of the datasets configured under 'datasets': {sorted(DATASETS)}"
        )

# A result's identity is every setting that changes its numbers: each one not at its default suffixes the split
# name (videoxai.keys.SplitVariant), e.g. test+tta+hand, test+v2+s3, test+ckpt-3.pt, test+pt+b10+ts, so variants
# never overwrite each other and the default config keeps the plain names. Each stage names its files by the part
# that changes its numbers (predictions: the evaluation options and checkpoint file; calibration: all of it).
try:
    SPLIT = str(SplitVariant.from_config(config))
    SPLITS_BY_MODEL = {str(m): str(SplitVariant.from_config(config, str(m))) for m in ANALYSED}
except SplitVariantError as e:
    _fail(f"config: {e}")
# The split wildcard: a base split, then the suffixes in the order SPLIT writes them.
SPLIT_PATTERN = SPLIT_VARIANT_PATTERN

# Calibration under shift (docs/shift.md): `corruptions: {name: [severities]}`, each a split variant +{name}-{severity}
# of the configured split, extracted and calibrated like it (explanations stay on the clean split).
try:
    SHIFTS = [
        (name, severity)
        for name, severities in (config.get("corruptions") or {}).items()
        for severity in sorted(severities)
    ]
    for _name, _severity in SHIFTS:
        SplitVariant.parse(SPLIT).with_corruption(_name, _severity)
except SplitVariantError as e:
    _fail(f"config key 'corruptions': {e}")

# Class-name mappings for closed-set models on another dataset: {dataset-test: {dataset-train: {test: train} | CSV}}
CLASS_MAPPING = config["class-mapping"]
for _t in CLASS_MAPPING:
    if _t not in DATASETS:
        _fail(
            f"config key 'class-mapping': {_t!r} is not one of the datasets configured under 'datasets': {sorted(DATASETS)}"
        )

_explainers = config["explainer-method"]
EXPLAINERS = [_explainers] if isinstance(_explainers, str) else list(_explainers)

DEMO_DATASETS = [name for name, d in DATASETS.items() if d.get("generate")]
CHECKPOINTS_ROOT = config["checkpoints-root"]
# checkpoint-paths: {model key: path | wandb:...}, or prompt-tuning's checkpoint_paths.json ({method: {dataset: {run: path}}},
# paths relative to the file); checkpoint-file: {model key: file name in its run folder} (default: the layout rule)
try:
    CHECKPOINT_PATHS = explicit_paths(config["checkpoint-paths"])
except (OSError, ValueError) as e:
    _fail(f"config key 'checkpoint-paths': {e}")
CHECKPOINT_FILES = config["checkpoint-file"]

# Only wandb's own settings reach the tracking jobs: the rest of the config never reaches a run.
WANDB_SETTINGS = {
    k: config[k]
    for k in ("use-wandb", "wandb-mode", "wandb-dir", "wandb-project", "wandb-entity")
    if config.get(k) is not None
}

RESULTS = "results"
FIGURES = "figures"
MODEL = "{method}/{train}/{run}"
PRED = f"{RESULTS}/predictions/{MODEL}/{{test}}/{{split}}.parquet"
CALIB = f"{RESULTS}/calibration/{MODEL}/{{test}}/{{split}}"
CALIB_FIG = f"{FIGURES}/calibration/{MODEL}/{{test}}-{{split}}"
EXPLAIN = f"{RESULTS}/explain/{MODEL}/{{test}}/{{split}}"
EXPLAIN_FIG = f"{FIGURES}/explainer/{MODEL}/{{test}}-{{split}}/{{explainer}}"

CALIB_METRICS = f"{CALIB}/metrics.json"
CALIB_BINS = f"{CALIB}/bins.parquet"
CALIB_DIAGRAM = f"{CALIB_FIG}/reliability_diagram.png"
CALIB_DIAGRAM_PDF = f"{CALIB_FIG}/reliability_diagram.pdf"
CALIB_SUMMARY = f"{RESULTS}/calibration/summary.csv"
CALIB_SUMMARY_TEX = f"{RESULTS}/calibration/summary.tex"
CALIB_COMPARISON = f"{FIGURES}/calibration/comparison.png"
CALIB_COMPARISON_PDF = f"{FIGURES}/calibration/comparison.pdf"
# {zoo}: the zoo's settings not at their defaults (ZooSettings.suffix: empty, +cv, +crossfit-5, ...)
RECALIBRATION = f"{CALIB}/recalibration{{zoo}}.csv"
# a reliability diagram per recalibration method, side by side
RECALIBRATION_DIAGRAM = f"{CALIB_FIG}/recalibration{{zoo}}.png"
RECALIBRATION_DIAGRAM_PDF = f"{CALIB_FIG}/recalibration{{zoo}}.pdf"
SHIFT_TABLE = f"{RESULTS}/calibration/shift.csv"
SHIFT_FIGURE = f"{FIGURES}/calibration/shift.png"
SHIFT_FIGURE_PDF = f"{FIGURES}/calibration/shift.pdf"
# one corruption against its severity: line plot, its rows as CSV and LaTeX, side by side
SHIFT_LINES = f"{FIGURES}/calibration/shift/{{corruption}}"
# each model (rows, by training dataset) on each test dataset (columns): accuracy and ECE with intervals
TRANSFER_TABLE = f"{RESULTS}/calibration/transfer.csv"
TRANSFER_TABLE_TEX = f"{RESULTS}/calibration/transfer.tex"
TRANSFER_FIGURE = f"{FIGURES}/calibration/transfer.png"
TRANSFER_FIGURE_PDF = f"{FIGURES}/calibration/transfer.pdf"
# +ckpt-{file} where checkpoint-file names one of the run folder's files (nothing: the layout's rule)
RESOLVED = f"{RESULTS}/models/{MODEL}/resolved{{ckpt}}.json"
ARTIFACT_RECORD = f"{RESULTS}/models/{MODEL}/artifact.json"
# a prompt-tuning run's CLIP backbone: its files' names and sha256, one record per snapshot (Backbone.key)
BACKBONE_RECORD = f"{RESULTS}/models/backbones/{{backbone}}.json"
# The explainer folder {explainer} is the method and a +{name}-{value} suffix for each of its options, evaluation and
# selection settings not at its default (videoxai.explain.variant: attention-rollout+fusion-max+classes-8); the
# selection's part names the selection file every explainer of that selection shares (selection+classes-8.json).
SELECTION = f"{EXPLAIN}/selection{{selection}}.json"
HEATMAPS = f"{EXPLAIN}/{{explainer}}/heatmaps.safetensors"
# a mixture has no network to explain: this notice says so, in place of its heatmaps
EXPLAIN_SKIPPED = f"{EXPLAIN}/{{explainer}}/skipped.json"
# one render job per explainer folder writes every selected clip as class_{X}_sample_{Y}.mp4 / .png in these
EXPLAIN_VIDEOS = f"{EXPLAIN_FIG}/video_samples"
EXPLAIN_MAPS = f"{EXPLAIN_FIG}/attention_maps"
EXPLAIN_STATS = f"{EXPLAIN_FIG}/aggregated_stats.json"
EXPLAIN_GALLERY = f"{EXPLAIN_FIG}/gallery.html"
# the explanation leaderboard: every explainer folder on disk (any config's) and the config's
EXPLAIN_SUMMARY = f"{RESULTS}/explain/summary.csv"
EXPLAIN_SUMMARY_TEX = f"{RESULTS}/explain/summary.tex"
EXPLAIN_LEADERBOARD = f"{FIGURES}/explainer/leaderboard.png"
EXPLAIN_LEADERBOARD_PDF = f"{FIGURES}/explainer/leaderboard.pdf"
EXPLAIN_SANITY = f"{RESULTS}/explain/sanity.csv"
EXPLAIN_SANITY_FIGURE = f"{FIGURES}/explainer/sanity.png"
EXPLAIN_SANITY_FIGURE_PDF = f"{FIGURES}/explainer/sanity.pdf"
TRACK = f"{RESULTS}/wandb/records/{MODEL}/{{test}}/{{split}}"
TRACK_CALIBRATION = f"{TRACK}/calibration.json"
TRACK_EXPLANATIONS = f"{TRACK}/explainer-{{explainer}}.json"


def model_key(wildcards):
    return f"{wildcards.method}/{wildcards.train}/{wildcards.run}"


def checkpoint_name(wildcards):
    """The run folder's file a job uses: the one its path names (resolved+ckpt-3.pt.json, test+ckpt-3.pt), so an
    earlier variant rebuilds from its own file; the config's checkpoint-file where the path names none."""
    if "ckpt" in wildcards.keys():
        return wildcards.ckpt.removeprefix(CHECKPOINT_SUFFIX) or None
    if "split" in wildcards.keys():
        return SplitVariant.parse(wildcards.split).checkpoint_file
    return CHECKPOINT_FILES.get(model_key(wildcards))


def is_demo_model(wildcards):
    key = model_key(wildcards)
    return wildcards.train in DEMO_DATASETS and key not in CHECKPOINT_PATHS and checkpoint_name(wildcards) is None


def checkpoint_source(wildcards):
    """What `checkpoint-paths` gives for the key: a path, a `wandb:entity/project/name:alias`, or None."""
    return CHECKPOINT_PATHS.get(model_key(wildcards))


def custom_factory(wildcards):
    """`custom: {key: package.module:factory}` for this key only (changing another key's reruns nothing here)."""
    key = model_key(wildcards)
    factory = (config.get("custom") or {}).get(key)
    return {key: factory} if factory else {}


def checkpoint_file(wildcards):
    """The checkpoint behind a key: an input, so a new checkpoint reruns everything downstream.

    Demo keys use the checkpoints shipped with the package, unless
    `train-demo-models` asks for them to be trained here (into the registry).
    A wandb artifact is fetched into the registry by `fetch_artifact`, whose
    record (name, version, digest) stands for it.
    """
    key = model_key(wildcards)
    if is_artifact(checkpoint_source(wildcards)):
        return ARTIFACT_RECORD.format(**dict(wildcards.items()))
    if is_demo_model(wildcards):
        bundled = bundled_checkpoints_root() / key / WEIGHTS_NAME
        if bundled.is_file() and not config["train-demo-models"]:
            return str(bundled)
        return f"{CHECKPOINTS_ROOT}/{key}/{WEIGHTS_NAME}"
    try:
        return str(find_checkpoint(key, CHECKPOINTS_ROOT, CHECKPOINT_PATHS, checkpoint_name(wildcards)))
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        _fail(str(e))


def _backbone(wildcards):
    """A prompt-tuning run's CLIP backbone (Hugging Face cache snapshot or folder), or None (a run of videoxai's own
    format, the demo's, a wandb artifact)."""
    if is_artifact(checkpoint_source(wildcards)) or is_demo_model(wildcards):
        return None
    try:
        weights = checkpoint_file(wildcards)
        run_config = run_config_beside(weights)
        if run_config is None:
            return None
        return locate_backbone(backbone_name(run_config, Path(weights).parent / CONFIG_NAME))
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        _fail(f"model {model_key(wildcards)}: {e}")


def backbone_record(wildcards):
    """Input of resolve: the record of the run's backbone files (none for other models). A new snapshot is a new
    record, a changed file remakes it: resolve and everything after it rerun. The files themselves are inputs of
    the record's job alone, so a plan lists them once per backbone, not once per model."""
    backbone = _backbone(wildcards)
    return [] if backbone is None else [BACKBONE_RECORD.format(backbone=backbone.key)]


def _recorded_backbone(wildcards):
    """The backbone a record is named for (found through the first model of the config that uses it)."""
    for mk in MODELS:
        backbone = _backbone(Wildcards(fromdict={"method": mk.method, "train": mk.train, "run": mk.run}))
        if backbone is not None and backbone.key == wildcards.backbone:
            return backbone
    _fail(f"no model of the config uses the backbone {wildcards.backbone}")


def backbone_files(wildcards):
    return [str(p) for p in _recorded_backbone(wildcards).files()]


def backbone_name_of(wildcards):
    return _recorded_backbone(wildcards).name


def dataset_config(name):
    return dict(DATASETS[name], name=name)


def dataset_marker(wildcards):
    """A file that stands for the dataset: the demo's completion marker; nothing for data on disk."""
    d = DATASETS[wildcards.test]
    return [f"{d['root']}/DONE.json"] if d.get("generate") else []


def split_variant_options(wildcards):
    """The evaluation options the split wildcard names (test+tta+v2: split test, use-augmentation, 2 views)."""
    return SplitVariant.parse(wildcards.split).options()


def class_mapping(wildcards):
    """The (test, train) pair's class mapping: a dict, a CSV path, or None; a parameter of extraction, so editing it reruns that job."""
    return CLASS_MAPPING.get(wildcards.test, {}).get(wildcards.train)


def class_mapping_file(wildcards):
    """A mapping given as a CSV file is an input, so editing the file reruns extraction."""
    mapping = class_mapping(wildcards)
    return [mapping] if isinstance(mapping, str) else []


def variant(wildcards):
    """Every setting the split wildcard names (videoxai.keys.SplitVariant): a job's parameters come from its path."""
    return SplitVariant.parse(wildcards.split)


def explainer_variant(wildcards):
    """The explainer folder's method and settings (videoxai.explain.variant): a job's come from its path, so an
    earlier variant rebuilds with its own settings, not the current config's."""
    return ExplainerVariant.parse(wildcards.explainer)


def explainer_method(wildcards):
    return explainer_variant(wildcards).method


def explain_convention(wildcards):
    """The convention the explainer runs under: `conventions: prompt-tuning` only where prompt-tuning has the method."""
    return effective_convention(explainer_method(wildcards), variant(wildcards).convention)


def has_ground_truth(test):
    return bool(DATASETS[test].get("ground-truth"))


def explainer_folder(method, w):
    """The folder name of ``method``'s results for the analysis ``w`` (its split names the conventions) under the
    config: the method and its settings not at their defaults."""
    convention = effective_convention(method, SplitVariant.parse(w["split"]).convention)
    try:
        return str(ExplainerVariant.from_config(method, convention, config, has_ground_truth(w["test"])))
    except ExplainerVariantError as e:
        _fail(f"config: {e}")


def selection_settings(wildcards):
    """Every selection setting the selection's name gives (a class list: the config's, where it is that list)."""
    try:
        return SelectionVariant.parse(wildcards.selection).values(config)
    except ExplainerVariantError as e:
        _fail(str(e))


def selection_file(wildcards):
    """The selection an explainer folder was made from: the selection part of its name."""
    w = {k: v for k, v in dict(wildcards.items()).items() if k != "explainer"}
    return SELECTION.format(**w, selection=str(explainer_variant(wildcards).selection))


def render_colormap(wildcards):
    """`colormap: auto`: inferno (perceptually uniform), or jet (prompt-tuning's) where the explainer follows the
    prompt-tuning conventions; a named colour map as it is."""
    if config["colormap"] != "auto":
        return config["colormap"]
    return "jet" if explain_convention(wildcards) == "prompt-tuning" else "inferno"


def label_order(wildcards):
    """How labels meet logit columns (videoxai.conventions.label_order): prompt-tuning's only differs on a ucf101
    dataset under `conventions: prompt-tuning`, so switching conventions makes new predictions only there."""
    return conventions_label_order(variant(wildcards).convention, dataset_config(wildcards.test)["format"])


def prediction_split(test, split, method=None):
    """The part of a split variant that names its predictions: +pt only where the conventions change them (the
    label order on a ucf101 dataset; a mixture's, which hands on probabilities or log-probabilities)."""
    v = SplitVariant.parse(split)
    differs = conventions_label_order(v.convention, DATASETS[test]["format"]) != "standard" or method == MIXTURE_METHOD
    return str(v.for_predictions(differs))


def explanation_split(test, split, explainer):
    """The part of a split variant that names an explainer's results: its predictions', and +pt where the explainer
    has a prompt-tuning form."""
    v = SplitVariant.parse(split)
    pt = effective_convention(explainer, v.convention) != "standard" or prediction_split(test, split) != str(
        v.for_predictions(False)
    )
    return str(v.for_explanations(pt))


def predictions_file(wildcards):
    """The predictions a calibration or selection reads: the same clips, options and model, whatever its analysis
    settings (n-bins, temperature, ...): a new analysis variant reuses them."""
    split = prediction_split(wildcards.test, wildcards.split, wildcards.method)
    return PRED.format(**{**dict(wildcards.items()), "split": split})


def resolved_file(wildcards):
    """The model's resolved.json, of the checkpoint file the split names."""
    ckpt = variant(wildcards).checkpoint_file
    return RESOLVED.format(**dict(wildcards.items()), ckpt=CHECKPOINT_SUFFIX + ckpt if ckpt else "")


def explainer_options(wildcards):
    """Only the options an explainer uses are its parameters (videoxai.explain.options's table), each as the folder's
    name gives it (its default where the name has none); the split variant's options come first. num-frames: this
    model's (model_frames); perturbation-batch (memory only): the config's."""
    convention = explain_convention(wildcards)
    own = {**config, **explainer_variant(wildcards).options(convention), "num-frames": model_frames(wildcards)}
    return {**split_variant_options(wildcards), **job_options(explainer_method(wildcards), convention, own)}


def analyses():
    """Wildcards of every (model or mixture, test dataset) pair the config asks about; the split names every
    setting (videoxai.keys.SplitVariant)."""
    return [
        dict(method=m.method, train=m.train, run=m.run, test=t, split=model_split(str(m), SPLITS_BY_MODEL[str(m)]))
        for m in ANALYSED
        for t in TESTS
    ]


def model_analyses():
    """analyses() of the models that have a network (no mixture): what is resolved and explained."""
    return [w for w in analyses() if w["method"] != MIXTURE_METHOD]


# ---- frames per model (videoxai.setup.frames): num-frames null | int | {model key: frames}
@functools.lru_cache(maxsize=None)
def frame_plan(key):
    """The frames model ``key`` runs on, from the config's num-frames and its checkpoint's config.json."""
    mk = ModelKey.parse(key)
    try:
        weights = checkpoint_file(Wildcards(fromdict={"method": mk.method, "train": mk.train, "run": mk.run}))
        cfg = os.path.join(os.path.dirname(weights), CONFIG_NAME) if weights.endswith(WEIGHT_SUFFIXES) else None
    except Exception:  # a missing checkpoint is reported, with every place looked, when the job graph is built
        cfg = None
    return plan_frames(key, config["num-frames"], frame_support(cfg))


def model_split(key, split=None):
    """The split name of ``key``'s results: ``split`` (the config's) with +f{N} where it runs on frames other
    than its own (a mixture: the config's; its members each have their own)."""
    split = SPLIT if split is None else split
    if is_mixture_key(key):
        return split
    return str(dataclasses.replace(SplitVariant.parse(split), frames=frame_plan(key).suffix))


def model_frames(wildcards):
    """Frames per view the job gives the model: its split's +f{N}, else the config's or the model's own (None:
    not known while planning, the model's own)."""
    frames = SplitVariant.parse(wildcards.split).frames
    return frames if frames is not None else frame_plan(model_key(wildcards)).frames


def mixture_member_predictions(wildcards):
    """A mixture's members' predictions on the mixture's test split (each with its own frames suffix)."""
    mixture = MIXTURES[model_key(wildcards)]
    out = []
    for member in mixture.members:
        mk = ModelKey.parse(member)
        split = model_split(member, str(dataclasses.replace(SplitVariant.parse(wildcards.split), frames=None)))
        split = prediction_split(wildcards.test, split, mk.method)  # a member's own predictions (+pt where they differ)
        out.append(PRED.format(method=mk.method, train=mk.train, run=mk.run, test=wildcards.test, split=split))
    return out


def explain_analyses(method):
    """analyses() with the split naming an explainer's results (calibration's settings left out) and the folder
    naming its method's settings (`explainer`)."""
    out = []
    for w in model_analyses():
        w = dict(w, split=explanation_split(w["test"], w["split"], method))
        out.append(dict(w, explainer=explainer_folder(method, w)))
    return out


def explanation_selection(w):
    """The selection file of an explainer folder's wildcards ``w``."""
    return selection_file(Wildcards(fromdict=w))


def for_each_explanation(template, method):
    return [template.format(**w) for w in explain_analyses(method)]


def _plannable(wildcards):
    """Whether a found result's model can still be planned (its checkpoint is there): an earlier config's
    result whose checkpoint is gone stays on disk, out of the summaries' inputs."""
    try:
        checkpoint_file(wildcards)
        backbone = _backbone(wildcards)  # (backbone_files takes a record's {backbone} wildcard, not a model's)
        if backbone is not None:
            backbone.files()
        return True
    except (WorkflowError, FileNotFoundError, ValueError, RuntimeError):
        return False


def summary_results():
    """What the calibration summary covers (videoxai.calibration.catalog): the current config's results and every
    one on disk of a configured dataset, sorted, so the table keeps the variants of earlier configs and is made
    again when any of them changes (its inputs)."""
    current = [result_at(RESULTS, **w) for w in calibration_analyses()]
    found = [
        r
        for r in find_calibration_results(RESULTS)
        if r.test in DATASETS and r not in current and _plannable(Wildcards(fromdict=r.wildcards()))
    ]
    return sorted({*current, *found})


def leaderboard_results():
    """What the explanation leaderboard covers (videoxai.explain.leaderboard): the config's explainer folders and
    every one on disk of a configured dataset and a known explainer whose model can still be planned."""
    current = [stats_at(FIGURES, **w) for e in EXPLAINERS for w in explain_analyses(e)]
    found = [
        r
        for r in find_explanation_results(FIGURES)
        if r.test in DATASETS
        and ExplainerVariant.parse(r.explainer).method in EXPLAINER_METHODS
        and r not in current
        and _plannable(Wildcards(fromdict=r.wildcards()))
    ]
    return sorted({*current, *found})


def for_each_analysis(template, **extra):
    return [template.format(**w, **extra) for w in analyses()]


def val_predictions(wildcards):
    """The val split's predictions, needed only to fit temperature scaling (on clean clips, also for a shifted test)."""
    if not variant(wildcards).temperature_scaling:
        return []
    val = str(variant(wildcards).with_split("val").with_corruption(None, None))
    return PRED.format(**{**dict(wildcards.items()), "split": prediction_split(wildcards.test, val, wildcards.method)})


def shifted_analyses():
    """Wildcards of every (model, test dataset, corruption, severity) the config's `corruptions` ask about."""
    return [
        dict(w, split=str(SplitVariant.parse(w["split"]).with_corruption(name, severity)))
        for w in analyses()
        for name, severity in SHIFTS
    ]


def calibration_analyses():
    """The analyses calibration covers: the clean ones, then the shifted ones."""
    return [*analyses(), *shifted_analyses()]


def for_each_calibration(template, **extra):
    return [template.format(**w, **extra) for w in calibration_analyses()]


def zoo_settings(suffix=None):
    """How the zoo is fitted (videoxai.calibration.shift.ZooSettings): the config's, or those a result's name
    (`{zoo}`) stands for, so a rebuild remakes an earlier variant with its own settings; `bootstrap` is not in the
    name (it changes no point value)."""
    if suffix is not None:
        return ZooSettings.from_suffix(suffix, bootstrap=config["bootstrap"])
    return ZooSettings(
        fit_on=config["recalibration-fit"],
        folds=config["recalibration-folds"],
        strength=config["recalibration-strength"],
        grid=tuple(config["recalibration-grid"]),
        bootstrap=config["bootstrap"],
    )


try:
    ZOO = zoo_settings().suffix
except ValueError as e:
    _fail(f"config keys 'recalibration-*': {e}")


def recalibration_val(wildcards):
    """The predictions recalibration methods are fitted on: the clean val split's (also for a shifted test split),
    or under `recalibration-fit: cross-fit` the clean test split's, in folds (no val split is extracted then)."""
    if not config.get("recalibration"):
        return []
    v = variant(wildcards).with_corruption(None, None)
    fit = str(v if zoo_settings(wildcards.zoo).fit_on == "cross-fit" else v.with_split("val"))
    return PRED.format(**{**dict(wildcards.items()), "split": prediction_split(wildcards.test, fit, wildcards.method)})


def recalibration_settings(wildcards):
    """The ZooSettings of a zoo table's name, as the recalibrate script's keyword arguments."""
    s = zoo_settings(wildcards.zoo)
    return {"fit_on": s.fit_on, "folds": s.folds, "strength": s.strength, "grid": s.grid, "bootstrap": s.bootstrap}


def shift_targets():
    """The recalibration table and diagrams of every calibration analysis, the shift table, its box plots and a line plot (with
    its CSV and LaTeX) per corruption and the transfer matrix: made when the config asks for corruptions or
    recalibration methods (the transfer matrix also on its own: `snakemake results/calibration/transfer.csv`)."""
    if not (SHIFTS or config.get("recalibration")):
        return []
    lines = [
        f"{SHIFT_LINES}.{ext}".format(corruption=c)
        for c in dict.fromkeys(n for n, _ in SHIFTS)
        for ext in ("png", "pdf", "csv", "tex")
    ]
    transfer = [TRANSFER_TABLE, TRANSFER_TABLE_TEX, TRANSFER_FIGURE, TRANSFER_FIGURE_PDF]
    zoo = [*for_each_calibration(RECALIBRATION, zoo=ZOO), *for_each_calibration(RECALIBRATION_DIAGRAM, zoo=ZOO)]
    zoo += for_each_calibration(RECALIBRATION_DIAGRAM_PDF, zoo=ZOO)
    return [*zoo, SHIFT_TABLE, SHIFT_FIGURE, SHIFT_FIGURE_PDF, *lines, *transfer]


def split_corruption_seed(wildcards):
    """The corruption seed, a parameter only of shifted splits (changing it reruns nothing clean)."""
    return config["corruption-seed"] if SplitVariant.parse(wildcards.split).corruption else None


def calibration_targets():
    """Every calibration output: metrics, bins, both diagram formats; the summary table (CSV, LaTeX) and comparison."""
    return [
        *for_each_calibration(CALIB_METRICS),
        *for_each_calibration(CALIB_BINS),
        *for_each_calibration(CALIB_DIAGRAM),
        *for_each_calibration(CALIB_DIAGRAM_PDF),
        CALIB_SUMMARY,
        CALIB_SUMMARY_TEX,
        CALIB_COMPARISON,
        CALIB_COMPARISON_PDF,
        *shift_targets(),
    ]


def explain_targets():
    """Per explainer folder: the selection, the heatmaps, the summary, the gallery and the two folders of videos and
    maps (one render job writes the gallery and every selected clip in them; a file missing from a folder dates the
    folder back while planning, see verify.smk). A mixture has no network: its notice that it was skipped."""
    return list(
        dict.fromkeys(
            explanation_selection(w) if t == SELECTION else t.format(**w)
            for e in EXPLAINERS
            for w in explain_analyses(e)
            for t in (SELECTION, HEATMAPS, EXPLAIN_STATS, EXPLAIN_GALLERY, EXPLAIN_VIDEOS, EXPLAIN_MAPS)
        )
    ) + [
        *[
            EXPLAIN_SKIPPED.format(**{**w, "split": explanation_split(w["test"], w["split"], e)}, explainer=e)
            for w in analyses()
            if w["method"] == MIXTURE_METHOD
            for e in EXPLAINERS
        ],
        EXPLAIN_SUMMARY,
        EXPLAIN_SUMMARY_TEX,
        EXPLAIN_LEADERBOARD,
        EXPLAIN_LEADERBOARD_PDF,
        EXPLAIN_SANITY,
        EXPLAIN_SANITY_FIGURE,
        EXPLAIN_SANITY_FIGURE_PDF,
    ]


def model_targets():
    """What calibration and explanation are made from: each model's resolved.json and predictions (and the val
    split's where temperature scaling fits on it)."""
    ws = [Wildcards(fromdict=w) for w in calibration_analyses()]
    val = [v for w in ws for v in [val_predictions(w)] if v]
    resolved = [resolved_file(w) for w in ws if w.method != MIXTURE_METHOD]
    return list(dict.fromkeys([*resolved, *(predictions_file(w) for w in ws), *val]))


def all_targets():
    """Every output of the current config that does not depend on a checkpoint's result, each asked for by `rule all`
    (Snakemake rebuilds a deleted file only when something asks for it); `verify` checks the same list, plus the
    clips a selection names."""
    return list(dict.fromkeys([*model_targets(), *calibration_targets(), *explain_targets(), *tracking_targets()]))


def tracking_targets():
    if not (config["use-wandb"] and config["wandb-mode"] != "disabled"):
        return []
    calibration = for_each_analysis(TRACK_CALIBRATION)
    explanations = [t for e in EXPLAINERS for t in for_each_explanation(TRACK_EXPLANATIONS, e)]
    return [*calibration, *explanations]


# ---- explanation inputs: a test dataset's ground-truth annotations
from videoxai.data.annotations import annotation_inputs


def ground_truth_files(wildcards):
    """The test dataset's annotation file (UCF101-24's pickle): editing it reruns selection and the scores."""
    d = DATASETS[wildcards.test]
    return annotation_inputs(d.get("ground-truth"), d["root"])


def annotated_dataset(wildcards):
    """`prefer-annotated` (as the selection's name gives it): the test dataset's entry when it names ground-truth
    annotations, else None."""
    d = DATASETS[wildcards.test]
    prefer = selection_settings(wildcards)["prefer-annotated"]
    return dataset_config(wildcards.test) if prefer and d.get("ground-truth") else None


# ---- resources: what each model job holds and how long it runs (videoxai.setup.resources, docs/resources.md)
import functools

from videoxai.setup import resources as R
from videoxai.explain.perturbation_budget import masked_forwards
from videoxai.setup.footprint import footprint_of_checkpoint
from videoxai.setup.threads import split_threads

# A local run never runs more jobs at once than the machine's memory holds: the jobs' mem_mb (each estimated from
# what it holds) are limited to the machine's memory, unless --resources mem_mb=N (or mem=...) sets another limit.
# A cluster run (--jobs with an executor) leaves each job's memory to the scheduler (mem_mb becomes --mem).
if workflow.nodes is None and not any(k in workflow.global_resources for k in ("mem_mb", "mem", "mem_mib", "mem_gb")):
    workflow.register_resource("mem_mb", R.machine_memory_mb())


@functools.lru_cache(maxsize=None)
def model_footprint(key):
    """The model's footprint from its checkpoint's config (and its backbone's), or None where it is not known
    while planning (torchvision, custom, a wandb artifact or a demo model not there yet)."""
    mk = ModelKey.parse(key)
    w = Wildcards(fromdict={"method": mk.method, "train": mk.train, "run": mk.run})
    try:
        weights = checkpoint_file(w)
        return footprint_of_checkpoint(weights) if os.path.isfile(weights) else None
    except Exception:  # a missing or broken checkpoint is reported by its own check, with every place looked
        return None


@functools.lru_cache(maxsize=None)
def split_facts(test, split):
    """(classes, clips) of a test dataset's split, from its annotation files (the demo's: from the config)."""
    d = DATASETS[test]
    if d.get("generate") and not os.path.isdir(d["root"]):
        from videoxai.demo.dataset import DEMO_CLASSES

        return len(DEMO_CLASSES), int(config["demo"]["n-test" if split == "test" else "n-train"])
    from videoxai.preflight import load_split

    try:
        info = load_split(config, test, split)
    except Exception:  # a bad dataset is preflight's to report
        return 101, 0
    return len(info.class_names), len(info.samples)


def gets_gpu(rule):
    """Whether the profile gives the rule's jobs a GPU (profiles/slurm: set-resources gpu) and the config lets them use it."""
    given = (workflow.resource_settings.overwrite_resources or {}).get(rule, {})
    return bool(given.get("gpu") or given.get("gpus")) and config["device"] != "cpu"


@functools.lru_cache(maxsize=None)
def stand_in_footprint():
    """For the runtime of a model whose footprint is unknown while planning (torchvision, custom, a wandb artifact not
    fetched yet, a demo model not trained yet): a ViT-B/16 CLIP prompt-tuning run (8 frames: 140 G multiply-adds a
    clip and view), more work than any of torchvision's video classifiers (18-64 G in their docs), so the runtime
    follows the number of clips instead of a fixed guess; where it is still short, each retry doubles it."""
    from videoxai.demo.real_size import COMMON_RUN, RUNS, VIT_B16_CLIP
    from videoxai.setup.footprint import prompt_tuning_footprint

    run = {**COMMON_RUN, **RUNS["video_coop"], "prompt-optimisation-method": "video_coop"}
    return prompt_tuning_footprint(run, VIT_B16_CLIP).with_views(1, 1)  # one view unless the split's name asks more


def _extract_plan(wildcards, threads, stand_in=False):
    fp = model_footprint(model_key(wildcards))
    if fp is None and stand_in:
        fp = stand_in_footprint()
    if fp is None:
        return None, None
    variant = SplitVariant.parse(wildcards.split)
    fp = fp.with_views(variant.temporal_views, variant.spatial_views if fp.kind == "prompt-tuning" else 1)
    fp = fp.with_frames(model_frames(wildcards))
    workers, _ = split_threads(threads, config["num-workers"])
    augmentations = (
        (3 if fp.kind == "prompt-tuning" else 6) if variant.augmentation else 1
    )  # PromptTuningTTA, TTA views
    classes, clips = split_facts(wildcards.test, variant.split)
    batch = min(config["batch-size"], clips) if clips else config["batch-size"]  # a batch is never more than the split
    low = variant.precision != "float32"
    job = R.ExtractJob(
        batch, fp.temporal_views, fp.spatial_views, workers, classes, augmentations, low, variant.compiled
    )
    return fp, R.ExtractJob(**{**job.__dict__, "batch": R.default_extract_batch(fp, job)})


def retried(mem_mb, attempt):
    """A job retried (--retries; the SLURM profile retries twice) asks for half as much again each time."""
    return int(mem_mb * (1 + 0.5 * (attempt - 1)))


def retried_minutes(minutes, attempt):
    """A retried job's runtime doubles each time: a job killed at its time limit (its estimate too low: the GPU's
    speed is assumed, not measured) gets 2x, then 4x, instead of dying again at the same limit."""
    return int(minutes * 2 ** (attempt - 1))


def extract_mem_mb(wildcards, threads, attempt):
    fp, job = _extract_plan(wildcards, threads)
    if fp is None:
        return retried(4000 + 1000 * config["num-workers"], attempt)
    return retried(R.declared(R.extract_estimate_mb(fp, job)), attempt)


def extract_runtime(wildcards, threads, attempt):
    fp, job = _extract_plan(wildcards, threads, stand_in=True)
    clips = split_facts(wildcards.test, SplitVariant.parse(wildcards.split).split)[1]
    return retried_minutes(R.extract_minutes(fp, job, clips, threads, gets_gpu("extract_predictions")), attempt)


def selected_clips(wildcards):
    """How many clips the folder's selection holds: classes-to-map x samples-per-class, and two per VideoMix pair."""
    s = explainer_variant(wildcards).selection.values(config)
    classes, mix = s["classes-to-map"], s["classes-to-mix"]
    pairs = len(mix) if isinstance(mix, list) else int(mix or 0)
    return (len(classes) if isinstance(classes, list) else int(classes)) * int(s["samples-per-class"]) + 2 * pairs


def _explain_settings(wildcards):
    """The settings an explain job runs with: the folder's (its name's, else the defaults), then the config's for
    what no name holds (perturbation-batch); the same its script gets (explainer_options), so the estimate follows
    a variant's deletion steps, sanity steps and perturbation budget, not the current config's."""
    return {**config, **explainer_variant(wildcards).options(explain_convention(wildcards))}


def _explain_plan(wildcards, stand_in=False):
    fp = model_footprint(model_key(wildcards))
    if fp is None and stand_in:
        fp = stand_in_footprint()
    if fp is None:
        return None, None
    fp = fp.with_frames(model_frames(wildcards))
    classes = split_facts(wildcards.test, SplitVariant.parse(wildcards.split).split)[0]
    method = explainer_method(wildcards)
    settings = _explain_settings(wildcards)
    job = R.ExplainJob(
        method,
        selected_clips(wildcards),
        classes,
        bool(settings["evaluate"]),
        int(settings["deletion-steps"]),
        perturbation_batch=int(settings["perturbation-batch"]),
        perturbation_forwards=masked_forwards(method, settings, fp.frames, fp.image_size),
    )
    given = config["explain-batch-size"]
    batch = R.default_explain_batch(fp, job) if given == "auto" else min(int(given), job.batch)
    return fp, R.ExplainJob(**{**job.__dict__, "batch": batch})


def explain_mem_mb(wildcards, attempt):
    fp, job = _explain_plan(wildcards)
    return retried(R.FALLBACK_MB["explain"] if fp is None else R.declared(R.explain_estimate_mb(fp, job)), attempt)


def explain_runtime(wildcards, threads, attempt):
    fp, job = _explain_plan(wildcards, stand_in=True)
    settings = _explain_settings(wildcards)
    minutes = R.explain_minutes(
        fp,
        job,
        selected_clips(wildcards),
        threads,
        gets_gpu("explain_clips"),
        int(settings["deletion-steps"]),
        int(settings["sanity-steps"]),
    )
    return retried_minutes(minutes, attempt)


def resolve_mem_mb(wildcards, attempt):
    """A prompt-tuning run is built once (its backbone loaded); a videoxai checkpoint is only read."""
    fp = model_footprint(model_key(wildcards))
    if fp is None:
        return retried(R.FALLBACK_MB["resolve"], attempt)
    return retried(R.declared(R.BASE_MB + (R.weights_mb(fp) if fp.kind == "prompt-tuning" else 0)), attempt)
