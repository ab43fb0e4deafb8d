"""The explain stage end to end on demo clips: selection -> loader -> explainer -> heatmaps.safetensors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from tests.helpers import DEMO_RENAMED
from videoxai.data.datasets import load_split
from videoxai.data.decode import read_frames
from videoxai.data.loader import make_loader
from videoxai.demo.dataset import write_demo_dataset
from videoxai.explain.select import select_clips
from videoxai.explain.stage import explain_selection
from videoxai.explain.store import load_heatmaps
from videoxai.explain.summary import summarize_explanations
from videoxai.extract.predictions import Predictions
from videoxai.io import read_json
from videoxai.models.families.demo.models import VideoCoOp

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "data"
    write_demo_dataset(root, n_train=8, n_test=16, seed=3)
    class_names, samples = load_split("ucf101", root, "test")
    torch.manual_seed(0)
    model = VideoCoOp(class_names).eval()
    logits = []
    with torch.inference_mode():
        for batch in make_loader(samples, model.input_spec, batch_size=8, num_workers=0):
            logits.append(model(batch["video"]))
    preds = Predictions(
        [s.sample_id for s in samples],
        np.array([s.label for s in samples]),
        torch.cat(logits).numpy(),
        class_names,
        {"split": "test"},
        0,
    )
    return model, samples, select_clips(preds, 2, 2, seed=0), root


@pytest.mark.parametrize("method", ["attention-rollout", "grad-cam"])
def test_heatmaps_file_holds_the_documented_tensors_and_metadata(demo, tmp_path, method):
    model, samples, selection, _ = demo
    out = tmp_path / "heatmaps.safetensors"
    options = {"target-class": "true", "head-fusion": "mean", "split": "test", "evaluate": False}
    explain_selection(model, selection, samples, method, options, out, batch_size=3)
    hs = load_heatmaps(out)
    assert hs.heatmaps.shape == (4, 8, 8, 8) and hs.heatmaps.dtype == np.float16
    assert hs.temporal_importance.shape == (4, 8) and hs.frames.shape == (4, 8, 64, 64, 3)
    assert hs.heatmaps.min() >= 0 and hs.heatmaps.max() == 1
    np.testing.assert_allclose(hs.temporal_importance.sum(1), 1, atol=1e-5)
    by_id = {s.sample_id: s for s in samples}
    for i, (clip, sel) in enumerate(zip(hs.clips, selection["clips"], strict=True)):
        # the clips come back in selection order, with their file-name indices and the model's view of them
        assert (clip["sample_id"], clip["class_index"], clip["sample_index"]) == (
            sel["sample_id"],
            sel["class_index"],
            sel["sample_index"],
        )
        assert clip["target"] == clip["label"] == by_id[clip["sample_id"]].label  # target-class: true
        assert clip["target_name"] == model.class_names[clip["target"]]
        assert 0 < clip["confidence"] <= 1 and clip["pred_name"] == model.class_names[clip["pred"]]
        # the stored frames are exactly the decoded frames the model saw
        decoded = read_frames(by_id[clip["sample_id"]].path, clip["frame_indices"])
        assert np.array_equal(hs.frames[i], decoded)
    assert hs.params["method"] == method and hs.params["target-class"] == "true" and hs.params["split"] == "test"


def test_weighted_maps_peak_at_the_target_probability(demo, tmp_path):
    model, samples, selection, _ = demo
    out = tmp_path / "h.safetensors"
    explain_selection(
        model, selection, samples, "attention-rollout", {"weighted-by-predictions": True, "evaluate": False}, out
    )
    hs = load_heatmaps(out)
    peaks = hs.heatmaps.reshape(len(hs), -1).max(1).astype(np.float32)
    np.testing.assert_allclose(peaks, [c["target_probability"] for c in hs.clips], atol=2e-3)  # float16 storage
    assert all(c["target"] == c["pred"] for c in hs.clips)  # target-class defaults to predicted


def test_a_selection_from_another_split_is_a_clear_error(demo, tmp_path):
    model, samples, selection, _ = demo
    stale = dict(selection, clips=[dict(selection["clips"][0], sample_id="Nope/v_Nope_g01_c01.avi")])
    with pytest.raises(ValueError, match="rerun the select step"):
        explain_selection(model, stale, samples, "grad-cam", {}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_evaluation_runs_in_the_stage_and_lands_in_aggregated_stats(demo, tmp_path, caplog, monkeypatch):
    from videoxai.explain import scoring

    model, samples, selection, root = demo
    out = tmp_path / "heatmaps.safetensors"
    options = {"deletion-steps": 4, "sanity-steps": 2}
    monkeypatch.setattr(scoring, "PHASE_QUIET_S", 0.0)  # the demo's phases take seconds: log them all the same
    with caplog.at_level(logging.INFO, logger="videoxai.explain"):
        hs = explain_selection(model, selection, samples, "attention-rollout", options, out, batch_size=4)
    # the evaluation of a batch (an hour at ViT-B/16 size) logs its own progress: its first clip, its end
    lines = [r.getMessage() for r in caplog.records]
    assert any(t.startswith("evaluate: deletion/insertion: 1/4 clips") for t in lines), lines
    assert any(t.startswith("evaluate: deletion/insertion: 4/4 clips (100%)") for t in lines), lines
    assert any(t.startswith("evaluate: sanity check: 2/2 steps (100%)") for t in lines), lines
    for clip in hs.clips:
        e = clip["evaluation"]
        assert 0 <= e["deletion_auc"] <= 1 and 0 <= e["insertion_auc_random"] <= 1
        assert len(e["sanity_spearman"]) == 2
        assert set(e["randomised_model"]) == {"pointing_game", "energy_in_mask"}  # demo clips have masks
    steps = hs.params["evaluation"]["sanity_randomised"]
    assert len(steps) == 2 and steps[0][0].startswith("text")  # top-down: the class prompts go first
    stats = summarize_explanations(out, tmp_path / "aggregated_stats.json", dataset={"root": str(root)})
    assert read_json(tmp_path / "aggregated_stats.json") == stats
    ev = stats["evaluation"]
    gt = ev["ground_truth"]
    assert gt["n_clips"] == 4 and 0 < gt["chance"] < 0.2
    for name in ("map", "random_map", "centre_prior", "randomised_model"):
        assert 0 <= gt[name]["pointing_game"] <= 1 and 0 <= gt[name]["energy_in_mask"] <= 1
    assert ev["faithfulness"]["n_clips"] == 4 and [s["step"] for s in ev["sanity"]] == [1, 2]
    assert stats["n_clips"] == 4 and "rendered" not in stats  # the summary never waits for the videos


def test_videomix_clips_are_mixed_explained_for_each_class_and_scored(demo, tmp_path):
    from videoxai.explain.mix import mix_region

    model, samples, selection, root = demo
    # the plain selection plus one mixed pair, as select_clips(classes_to_mix=...) writes it
    a, b = selection["clips"][0], selection["clips"][2]  # two clips of different classes
    assert a["class_index"] != b["class_index"]
    mix = {
        "sample_id": b["sample_id"],
        "row": b["row"],
        "class_index": b["class_index"],
        "class_name": b["class_name"],
        "base_class_index": a["class_index"],
        "mode": "box",
        "seed": 5,
    }
    entries = [
        dict(a, sample_index=9, mix={**mix, "explains": "base"}),
        dict(b, sample_id=a["sample_id"], sample_index=9, label=b["class_index"], mix={**mix, "explains": "other"}),
    ]
    sel = dict(selection, clips=list(selection["clips"]) + entries)
    out = tmp_path / "heatmaps.safetensors"
    hs = explain_selection(
        model, sel, samples, "attention-rollout", {"deletion-steps": 2, "sanity-steps": 1}, out, batch_size=4
    )
    assert len(hs) == 6
    base_frames, other_frames = hs.frames[0], hs.frames[2]  # the unmixed clips, decoded the same way
    region = mix_region(8, 64, "box", 5)
    for k in (4, 5):
        assert np.array_equal(hs.frames[k], np.where(region[..., None], other_frames, base_frames))
    assert [hs.clips[k]["target"] for k in (4, 5)] == [a["class_index"], b["class_index"]]  # each class explained
    assert hs.clips[5]["mix"]["frame_indices"] == hs.clips[2]["frame_indices"]
    stats = summarize_explanations(out, tmp_path / "stats.json", dataset={"root": str(root)})
    vm = stats["evaluation"]["videomix"]
    assert vm["base_class"]["n_clips"] == vm["pasted_class"]["n_clips"] == 1
    assert 0 < vm["pasted_class"]["energy_in_pasted_region"] < 1
    assert vm["pasted_class"]["pasted_area"] == pytest.approx(0.5, abs=0.01)
    assert "map" in vm["pasted_class"]["ground_truth"]
    assert stats["evaluation"]["ground_truth"]["n_clips"] == 4  # GT scores of plain clips only


def test_explain_stage_resolves_the_model_and_split_from_files(demo, tmp_path):
    from videoxai.explain.stage import explain_stage
    from videoxai.io import write_json
    from videoxai.models.checkpoints.resolve import resolve_model
    from videoxai.models.checkpoints.weights import save_checkpoint

    model, samples, selection, root = demo
    save_checkpoint(model, tmp_path / "ckpt" / "video_coop" / "demo" / "t")
    write_json(tmp_path / "resolved.json", resolve_model("video_coop/demo/t", tmp_path / "ckpt"))
    write_json(tmp_path / "selection.json", selection)
    out = tmp_path / "heatmaps.safetensors"
    options = {"split": "test", "num-frames": 8, "evaluate": False, "target-class": "predicted"}
    dataset = {"name": "demo", "format": "ucf101", "root": str(root)}
    hs = explain_stage(tmp_path / "resolved.json", tmp_path / "selection.json", dataset, "grad-cam", options, out)
    assert load_heatmaps(out).clips == hs.clips and len(hs) == len(selection["clips"])
    with pytest.raises(ValueError, match="takes exactly 8 frames"):
        explain_stage(
            tmp_path / "resolved.json",
            tmp_path / "selection.json",
            dataset,
            "grad-cam",
            {**options, "num-frames": 4},
            out,
        )


def test_gradcam_on_a_torchvision_3d_cnn_through_the_stage(demo, tmp_path):
    """r3d_18 (random weights, built offline): layer4 pools 8 frames to 1 and 64 px to 4; stretched back to 8 frames."""
    from videoxai.models.families.torchvision_video import ARCHS, TorchvisionVideo

    _, samples, selection, _ = demo
    cls = next(c for c in TorchvisionVideo.__subclasses__() if c.arch_name == "r3d_18")
    assert "r3d_18" in ARCHS
    torch.manual_seed(0)
    cnn = cls([f"c{i}" for i in range(8)], num_frames=8, size=64).eval()
    hs = explain_selection(
        cnn, selection, samples, "grad-cam", {"evaluate": False, "target-class": "true"}, tmp_path / "h.safetensors"
    )
    assert hs.heatmaps.shape == (4, 8, 4, 4) and hs.frames.shape == (4, 8, 64, 64, 3)
    assert np.array_equal(hs.heatmaps[:, 0], hs.heatmaps[:, 7])  # one temporal slice, repeated
    assert np.isfinite(hs.heatmaps.astype(np.float32)).all() and hs.heatmaps.max() <= 1
    with pytest.raises(ValueError, match="use 'grad-cam'"):
        explain_selection(cnn, selection, samples, "attention-rollout", {}, tmp_path / "x.safetensors")


# --- dataset transfer: a closed-set model explained on another dataset through a class mapping -------------------

# the demo's test clips listed again (csv format) under class names no demo model knows
RENAMED = DEMO_RENAMED
LEFT_OUT = ("Spin", "Flash")  # test classes the (partial, CSV) mapping gives no training class


@pytest.fixture(scope="module")
def transfer(demo, tmp_path_factory):
    """r3d_18 (random weights, 32 px) trained on the demo's classes; its predictions on the renamed clips with
    a partial CSV mapping and two temporal views, and the selection made from them, as the workflow makes them."""
    import csv

    from videoxai.demo.dataset import DEMO_CLASSES
    from videoxai.extract.predictions import load_predictions
    from videoxai.extract.run import extract_predictions
    from videoxai.io import write_json
    from videoxai.models.checkpoints.resolve import resolve_model
    from videoxai.models.checkpoints.weights import save_checkpoint
    from videoxai.models.families.registry import build_model
    from videoxai.setup.model_split import open_split

    _, samples, _, _ = demo
    tmp = tmp_path_factory.mktemp("transfer")
    (tmp / "renamed").mkdir()
    with (tmp / "renamed" / "test.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label"])
        w.writerows([str(s.path), RENAMED[s.label_name]] for s in samples)
    mapping = tmp / "mapping.csv"
    mapping.write_text(
        "test,train\n" + "".join(f"{new},{old}\n" for old, new in RENAMED.items() if new not in LEFT_OUT)
    )
    torch.manual_seed(0)
    cnn = build_model("r3d_18", {"class_names": list(DEMO_CLASSES), "model": {"size": 32, "num_frames": 8}})
    save_checkpoint(cnn, tmp / "ckpt" / "r3d_18" / "demo" / "rand")
    write_json(tmp / "resolved.json", resolve_model("r3d_18/demo/rand", tmp / "ckpt"))
    dataset = {"name": "renamed", "format": "csv", "root": str(tmp / "renamed")}
    options = {"split": "test", "num-temporal-views": 2}
    predictions = tmp / "test+v2.parquet"
    extract_predictions(
        tmp / "resolved.json", dataset, predictions, options=options, num_workers=0, class_mapping=str(mapping)
    )
    selection = select_clips(load_predictions(predictions), 6, 1, seed=0)  # every mapped class
    write_json(tmp / "selection.json", selection)
    renamed_samples = open_split(dataset, "test").samples
    return {
        "tmp": tmp,
        "dataset": dataset,
        "mapping": str(mapping),
        "options": {**options, "num-frames": 8, "evaluate": False, "target-class": "true"},
        "selection": selection,
        "samples": renamed_samples,
    }


def _explain_transfer(transfer, out_name, mapping="configured", options=None):
    from videoxai.explain.stage import explain_stage

    t = transfer
    out = t["tmp"] / out_name
    mapping = t["mapping"] if mapping == "configured" else mapping
    hs = explain_stage(
        t["tmp"] / "resolved.json",
        t["tmp"] / "selection.json",
        t["dataset"],
        "grad-cam",
        options or t["options"],
        out,
        class_mapping=mapping,
    )
    return hs, out


def test_a_closed_set_model_is_explained_on_another_dataset_through_the_class_mapping(transfer):
    from videoxai.demo.dataset import DEMO_CLASSES

    hs, out = _explain_transfer(transfer, "heatmaps.safetensors")
    selection, by_id = transfer["selection"], {s.sample_id: s for s in transfer["samples"]}
    assert selection["class_names"] == list(DEMO_CLASSES)  # the model's own classes index everything
    assert selection["class_mapping"] == {new: old for old, new in RENAMED.items() if new not in LEFT_OUT}
    assert len(hs) == len(selection["clips"]) == 6 and load_heatmaps(out).clips == hs.clips
    for clip in hs.clips:
        test_name = by_id[clip["sample_id"]].label_name  # the clip's class in the renamed dataset
        assert test_name not in LEFT_OUT  # clips of unmapped classes are never selected
        trained = DEMO_CLASSES.index(selection["class_mapping"][test_name])
        # target-class true explains the mapped training class, and the names are the model's
        assert clip["label"] == clip["target"] == clip["class_index"] == trained
        assert clip["target_name"] == clip["class_name"] == DEMO_CLASSES[trained]
        assert clip["pred_name"] == DEMO_CLASSES[clip["pred"]]


def test_one_view_is_explained_whatever_num_temporal_views(transfer):
    """Predictions made with two temporal views; the maps are drawn over the segment centres (one view)."""
    from videoxai.data.decode import count_frames
    from videoxai.data.sampling import segment_centres
    from videoxai.extract.predictions import read_metadata

    assert read_metadata(transfer["tmp"] / "test+v2.parquet")["num_temporal_views"] == 2
    assert transfer["selection"]["num_temporal_views"] == 2
    hs, _ = _explain_transfer(transfer, "views.safetensors")
    by_id = {s.sample_id: s for s in transfer["samples"]}
    assert hs.frames.shape == (6, 8, 32, 32, 3) and hs.params["input_spec"]["num_views"] == 1
    assert hs.params["num-temporal-views"] == 2  # the option is recorded, the explained view is one
    for i, clip in enumerate(hs.clips):
        n = count_frames(by_id[clip["sample_id"]].path)
        centres, _ = segment_centres(n, 8)
        assert clip["frame_indices"] == centres
        np.testing.assert_array_equal(hs.frames[i], _resized(by_id[clip["sample_id"]].path, centres, 32))


def _resized(path, indices, size):
    """The frames as the loader shows them (shorter side to ``size``, centre crop), for comparison."""
    from videoxai.data.transforms import resize_crop

    return resize_crop(read_frames(path, indices), size).numpy()


def test_without_a_mapping_the_explain_step_says_to_configure_one(transfer):
    with pytest.raises(ValueError, match="class-mapping") as err:
        _explain_transfer(transfer, "refused.safetensors", mapping=None)
    assert "Contract" in str(err.value) and "MoveRight" in str(err.value)  # both class lists are named
    assert not (transfer["tmp"] / "refused.safetensors").exists()


def test_a_selection_made_under_another_mapping_is_refused(transfer, tmp_path):
    from videoxai.io import write_json

    # left and right swapped: same class list, other labels
    swapped = {new: old for old, new in RENAMED.items()} | {"Rightward": "MoveLeft", "Leftward": "MoveRight"}
    with pytest.raises(ValueError, match="rerun the extract and select steps"):
        _explain_transfer(transfer, "swapped.safetensors", mapping=swapped)
    # a selection that does not record its mapping: the relabelled clips themselves are caught
    selection = dict(transfer["selection"])
    del selection["class_mapping"]
    selection["clips"] = [c for c in selection["clips"] if c["class_name"] in ("MoveRight", "MoveLeft")]
    write_json(transfer["tmp"] / "selection.json", selection)
    try:
        with pytest.raises(ValueError, match="another label in the dataset than in the selection"):
            _explain_transfer(transfer, "swapped.safetensors", mapping=swapped)
    finally:
        write_json(transfer["tmp"] / "selection.json", transfer["selection"])
    assert not (transfer["tmp"] / "swapped.safetensors").exists()


@pytest.mark.parametrize("script", ["explain_clips", "extract_predictions"])
def test_the_decoder_key_reaches_every_decoding_job(demo, tmp_path, script):
    """Both rule scripts that decode clips pass the config's ``decoder`` to the shared model-and-split setup,
    which hands it to every loader: an unknown decoder fails the job naming it (explain jobs once ignored it)."""
    import runpy
    from types import SimpleNamespace

    from tests.helpers import REPO
    from videoxai.io import write_json
    from videoxai.models.checkpoints.resolve import resolve_model
    from videoxai.models.checkpoints.weights import save_checkpoint

    model, _, selection, root = demo
    save_checkpoint(model, tmp_path / "ckpt" / "video_coop" / "demo" / "t")
    write_json(tmp_path / "resolved.json", resolve_model("video_coop/demo/t", tmp_path / "ckpt"))
    write_json(tmp_path / "selection.json", selection)
    options = {
        "split": "test",
        "use-augmentation": False,
        "use-handcrafted-prompts": False,
        "num-temporal-views": None,
        "num-frames": 8,
        "evaluate": False,
    }
    job = SimpleNamespace(
        log=[str(tmp_path / "job.log")],
        rule=script,
        threads=1,
        config={
            "num-workers": 0,
            "batch-size": 4,
            "explain-batch-size": "auto",
            "device": "cpu",
            "decoder": "no-such-decoder",
        },
        resources={"mem_mb": 2000},
        input=SimpleNamespace(resolved=str(tmp_path / "resolved.json"), selection=str(tmp_path / "selection.json")),
        output=[str(tmp_path / "out")],
        params=SimpleNamespace(
            dataset={"name": "demo", "format": "ucf101", "root": str(root)},
            options=options,
            num_frames=8,
            class_mapping=None,
            conventions="standard",
            label_order="standard",
            corruption_seed=None,
        ),
        wildcards=SimpleNamespace(explainer="grad-cam"),
    )
    path = str(REPO / "workflow" / "scripts" / f"{script}.py")
    with pytest.raises(ValueError, match="decoder must be one of .* got 'no-such-decoder'"):
        runpy.run_path(path, init_globals={"snakemake": job})
    job.config["decoder"] = "pyav"
    runpy.run_path(path, init_globals={"snakemake": job})
    assert (tmp_path / "out").is_file()


def test_calling_an_explainer_explains_then_finalises(demo):
    """``Explainer.__call__`` is the shared pipeline the stage runs: the method's relevance, then ``finalise`` with
    the explainer's own ``weighted-by-predictions`` and convention."""
    from videoxai.explain.base import finalise
    from videoxai.explain.methods import explainer_class, make_explainer

    model, samples, _, _ = demo
    batch = next(iter(make_loader(samples[:2], model.input_spec, batch_size=2, num_workers=0)))
    for weighted in (False, True):
        explainer = make_explainer("grad-cam", model, {"weighted_by_predictions": weighted})
        out = explainer(batch["video"], batch["label"], "true")
        maps, importance, probs = finalise(explainer.explain(batch["video"], batch["label"], "true"), weighted)
        assert torch.equal(out.maps, maps) and torch.equal(out.importance, importance) and torch.equal(out.probs, probs)
        assert torch.equal(out.explanation.targets, batch["label"])
        peak = out.maps.flatten(1).max(dim=1).values
        expected = probs.gather(1, batch["label"][:, None])[:, 0] if weighted else torch.ones(2)
        assert torch.allclose(peak, expected)
    assert explainer_class("grad-cam").convention == "standard"
    assert explainer_class("grad-cam", "prompt-tuning").convention == "prompt-tuning"
