# Nothing goes missing or wrong quietly: the checks that run while planning, and the output list `verify` reads
# (its rule is in verify.smk). docs/integrity.md explains each and lists the cases tried.
#
# While planning (before any job, main process only; nothing under results/ or figures/ is touched, except a
# video manifest whose videos changed):
#   * the config against its data and models (videoxai.preflight): dataset roots, num-frames vs the frames each
#     checkpoint's config.json lets its model take (videoxai.setup.frames), mixtures' members (configured models
#     sharing one class list), classes-to-map vs the split's classes, class names, a clip listed under two
#     labels, custom factories, each checkpoint's config.json against its schema, its weights file's header,
#     and a .pt whose pickle would run code: errors naming file and field, not failed jobs; then an explainer the
#     chosen conventions cannot define on a model (grad-cam under prompt-tuning on prompt-tuning's own models);
#   * every output of the config under results/ and figures/ against its content record (videoxai.checksums: size and
#     sha256 when written, and the sha256 of the inputs it was made from), or, without a record, by a cheap
#     structural check (videoxai.checks). A damaged or stale one, and a folder output missing a file, is
#     rebuilt in this very run, with what was made from it: Snakemake is given it as a forced rerun, as
#     `--forcerun FILE` would (queue_rebuilds below), so `-n` shows it and its mtime is never changed;
#   * each split's video manifest (videoxai.data.manifest) is rewritten when a listed clip changed, so the
#     jobs that decode that split rerun (its content, and so its mtime, change only then);
#   * a folder locked by a run that is still active, or by one that was killed, says which (videoxai.runs).
# `snakemake --cores 1 verify` recomputes nothing: it checks every output of the current config deeply and
# lists what is missing, damaged or stale, exiting non-zero with the one command that rebuilds them.

import json
import os
import sys

from snakemake.iocontainers import Wildcards

from videoxai import runs
from videoxai.checksums import HashCache
from videoxai.data.manifest import refresh_manifest
from videoxai.explain.store import header_clip_list
from videoxai.extract.mixture_config import mixture_errors
from videoxai.outdated import damaged_outputs
from videoxai.preflight import ConfigError, check_data, check_explainers, checkpoint_class_names, load_split
from videoxai.rebuild import rebuild_all_command, rebuild_target

VERIFY_FOLDERS = [
    f"{RESULTS}/{d}" for d in ("datasets", "models", "predictions", "calibration", "explain", "wandb/records")
] + [FIGURES]
MANIFEST = f"{RESULTS}/datasets/{{test}}/{{base}}.manifest.json"
# what this run rebuilds because planning found it damaged, stale or incomplete (files and folder outputs)
REBUILD = set()
# the command asks only to look: planning must change nothing (no forced reruns, no manifest written)
_ARGS = sys.argv[1:]
LOOK_ONLY = "verify" in _ARGS or any(a == "--report" or a.startswith("--report=") for a in _ARGS)


def _checkpoint_files(key):
    """(config.json beside a model's checkpoint or None, the weights file or None) when they are there (yet)."""
    mk = ModelKey.parse(key)
    try:
        weights = checkpoint_file(Wildcards(fromdict={"method": mk.method, "train": mk.train, "run": mk.run}))
    except Exception:  # a missing checkpoint is reported, with every place looked, when the job graph is built
        return None, None
    if not weights.endswith(WEIGHT_SUFFIXES):
        return None, None  # a wandb artifact record: its files are checked when resolved
    config_json = os.path.join(os.path.dirname(weights), "config.json")
    return (config_json if os.path.isfile(config_json) else None), (weights if os.path.isfile(weights) else None)


def base_splits():
    """The dataset splits jobs read: the config's, and val where temperature scaling fits on it."""
    split = SplitVariant.parse(SPLIT).split
    return list(dict.fromkeys([split, "val"] if config["temperature-scaling"] else [split]))


def manifest_targets():
    """Every video manifest of the config: asked for by `rule all`, so a deleted one is made again (and what was made
    from the clips reruns: whether they changed since is unknown)."""
    return [MANIFEST.format(test=t, base=b) for t in TESTS for b in base_splits()]


def video_manifest(wildcards):
    """Input of every job that decodes clips: the manifest of its dataset split (+tta and the other variants
    read the same clips). Also hands Snakemake the rebuilds planning queued (see queue_rebuilds)."""
    queue_rebuilds(wildcards)
    return MANIFEST.format(test=wildcards.test, base=SplitVariant.parse(wildcards.split).split)


def queue_rebuilds(wildcards=None):
    """An input function that gives no file: it adds what planning found damaged to the files Snakemake forces
    (its DAG's `forcefiles`, what `--forcerun FILE` fills), so this run rebuilds them and what was made from
    them. Evaluated while Snakemake builds its job graph (the target rules and every clip-reading job call it);
    the graph's settings do not exist yet while this file is read."""
    if REBUILD and not LOOK_ONLY and workflow.dag is not None:
        workflow.dag.forcefiles.update(REBUILD)
    return []


def rendered_clips(w):
    """The `class_{X}_sample_{Y}` names render writes into an explainer's two folders: the clips of its heatmaps
    file (what render renders), or of the selection while the heatmaps are absent or damaged."""

    def names(clips):
        return [f"class_{int(c['class_index'])}_sample_{int(c['sample_index'])}" for c in clips]

    try:
        return names(header_clip_list(HEATMAPS.format(**w)))
    except Exception:
        pass
    try:
        with open(explanation_selection(w), encoding="utf-8") as fh:
            return names(json.load(fh)["clips"])
    except Exception:  # absent, or damaged: reported (and rebuilt) as such
        return []


def expected_outputs():
    """Every output file of the current config (`rule all`'s list, common.smk's all_targets, its two clip folders
    per explainer given file by file, and the video manifests): what `verify` checks."""
    folders = {t for e in EXPLAINERS for tt in (EXPLAIN_VIDEOS, EXPLAIN_MAPS) for t in for_each_explanation(tt, e)}
    files = [f for f in all_targets() if f not in folders]
    files += manifest_targets()
    for e in EXPLAINERS:
        for w in explain_analyses(e):
            folder = EXPLAIN_FIG.format(**w)
            for name in rendered_clips(w):
                files += [f"{folder}/video_samples/{name}.mp4", f"{folder}/attention_maps/{name}.png"]
    return files


def _current_outputs():
    """expected_outputs(), or None when the config's job graph cannot be listed (it says why itself, in its words)."""
    try:
        return expected_outputs()
    except Exception:
        return None


def _refresh_manifests(cache):
    """Rewrite each existing video manifest whose clips changed (not when the command only looks)."""
    for test in TESTS:
        for base in base_splits():
            path = MANIFEST.format(test=test, base=base)
            if LOOK_ONLY or not os.path.isfile(path):
                continue  # a missing one is made by rule video_manifest
            try:
                info = load_split(config, test, base)
                if info is not None and refresh_manifest(path, dataset_config(test), base, cache, info):
                    print(
                        f"videoxai: clips of {test}/{base} changed: {path} updated, its extraction and explanations rerun",
                        file=sys.stderr,
                    )
            except OSError as e:
                print(
                    f"videoxai: {path} cannot be updated ({e.strerror}): if clips of {test}/{base} changed, nothing reruns for them",
                    file=sys.stderr,
                )
            except Exception:
                continue  # the dataset's own problem: extraction reports it


def _plan_rebuilds(cache):
    """Find damaged, stale and incomplete outputs of the current config (other configs' files are left as they are);
    queue them for this run, and say so (one line each)."""
    expected = _current_outputs()
    if expected is None:
        return
    wanted = set(expected)
    found = [(p, q) for p, q in damaged_outputs([f for f in VERIFY_FOLDERS if os.path.isdir(f)], cache) if p in wanted]
    # a file missing from a folder output (a deleted video): Snakemake sees only the folder
    found += [(p, "missing from its folder") for p in expected if not os.path.lexists(p) and rebuild_target(p) != p]
    if not found:
        return
    if any(a == "--report" or a.startswith("--report=") for a in _ARGS):
        path, problem = found[0]
        _fail(
            f"videoxai: {len(found)} output(s) are damaged, stale or missing (first: {path}: {problem}); a report would "
            f"show them as they are: rebuild them first with: {rebuild_all_command(p for p, _ in found)}"
        )
    if LOOK_ONLY:
        return  # verify lists them itself
    writable = [p for p, _ in found if os.access(os.path.dirname(rebuild_target(p)) or ".", os.W_OK)]
    if len(writable) < len(found):
        print(
            f"videoxai: {len(found) - len(writable)} damaged output(s) lie in a read-only folder (first: {found[0][0]}); "
            "they cannot be rebuilt there: make results/ and figures/ writable, or run in a copy",
            file=sys.stderr,
        )
    for path, problem in found:
        if path not in writable:
            continue
        REBUILD.add(rebuild_target(path))
        said = "is missing from its folder:" if problem == "missing from its folder" else f"is broken: {problem};"
        print(f"videoxai: {path} {said} this run rebuilds it and what was made from it", file=sys.stderr)


def _unsplittable_extractions():
    """One line per extraction that cannot fit this local run's memory: a model whose logits depend on the clips
    of its batch (stt) keeps batch-size whatever the memory, so it would be killed instead of shrinking its batch."""
    limit = workflow.global_resources.get("mem_mb").value
    if workflow.nodes is not None or not isinstance(limit, int):
        return []
    threads = min(config["num-workers"] + 1, max(1, workflow.cores // 2))  # extract_predictions' threads
    lines = []
    for w in analyses():
        fp = model_footprint(f"{w['method']}/{w['train']}/{w['run']}")
        if fp is None or fp.batch_independent:
            continue
        need = extract_mem_mb(Wildcards(fromdict=w), threads, 1)
        if need > limit:
            lines.append(
                f"model {w['method']}/{w['train']}/{w['run']}: extracting {w['test']}/{w['split']} needs about {need} MB "
                f"at batch-size {config['batch-size']}, more than the {limit} MB this run may use (--resources mem_mb); "
                f"{w['method']}'s logits depend on the other clips and views of its batch, so its batch is not split: "
                "lower batch-size or num-temporal-views / num-spatial-views, or run it with more memory (docs/resources.md)"
            )
    return lines


# Planning runs in the main process only (a cluster job re-reads this file: no checks there).
if workflow.is_main_process:
    _lock = runs.lock_message()
    if _lock is not None:
        if "--unlock" in _ARGS and runs.active_runs():
            _fail(_lock)
        print(_lock, file=sys.stderr)
    try:
        _checkpoints = {str(m): _checkpoint_files(str(m)) for m in MODELS}
        check_data(
            config,
            TESTS,
            {k: c for k, (c, _) in _checkpoints.items()},
            {k: w for k, (_, w) in _checkpoints.items()},
            splits=base_splits(),
        )
        # an explainer the conventions cannot define on a model (prompt-tuning's Grad-CAM on its own models)
        check_explainers(config, {k: c for k, (c, _) in _checkpoints.items()})
    except ConfigError as e:
        _fail(str(e))
    _mixture_lines = mixture_errors(
        MIXTURES, [str(m) for m in MODELS], {k: checkpoint_class_names(c) for k, (c, _) in _checkpoints.items()}
    )
    if _mixture_lines:
        _fail(
            "invalid configuration:\n"
            + "".join(f"  - {line}\n" for line in _mixture_lines)
            + "fix these in the config; nothing was run"
        )
    _too_big = _unsplittable_extractions()
    if _too_big:
        _fail("this run cannot hold every job:\n" + "".join(f"  - {line}\n" for line in _too_big))
    _cache = HashCache()
    _plan_rebuilds(_cache)
    _refresh_manifests(_cache)
    _cache.save()


onstart:
    runs.register()


onsuccess:
    runs.unregister()


onerror:
    runs.unregister()
