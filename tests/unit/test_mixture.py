"""Mixture models (issue 25, item 6): the weighted mean of the members' softmax probabilities, from their files.

Checked against a hand computation in numpy, and against prompt-tuning's MixtureModel convention written out in
torch (weights ``w / w.sum()`` in float32, ``sum w_i softmax(logits_i)`` handed on as logits, its loss
``F.cross_entropy`` of them), through the calibration stage's own metrics.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F

from videoxai.calibration.suite import point_metrics
from videoxai.extract.mixture import mix_probabilities, mixture_logits, write_mixture
from videoxai.extract.mixture_config import Mixture, mixture_errors, parse_mixture, parse_mixtures
from videoxai.extract.predictions import PredictionWriter, load_predictions, read_all

CLASSES = ["a", "b", "c", "d"]


def member_logits(seed: int, n: int = 6, k: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=3.0, size=(n, k)).astype(np.float32)


def hand_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)


def test_weights_are_normalised_and_a_list_is_a_uniform_ensemble() -> None:
    m = parse_mixture("mixture/ucf101/w", {"x/d/a": 3, "x/d/b": 1})
    assert m.members == ("x/d/a", "x/d/b") and m.weights == (0.75, 0.25)
    u = parse_mixture("mixture/ucf101/u", ["x/d/a", "x/d/b", "x/d/c"])
    assert all(math.isclose(w, 1 / 3) for w in u.weights)
    assert parse_mixtures(None) == {}
    for key, members, match in [
        ("video_coop/ucf101/w", ["x/d/a"], "must be keyed mixture/"),
        ("mixture/ucf101", ["x/d/a"], "invalid model key"),
        ("mixture/ucf101/w", [], "has no members"),
        ("mixture/ucf101/w", {"x/d/a": 0.0}, "weights must be positive"),
        ("mixture/ucf101/w", ["x/d/a", "x/d/a"], "lists a member twice"),
    ]:
        with pytest.raises(ValueError, match=match):
            parse_mixture(key, members)


def test_the_mixture_is_the_weighted_mean_of_softmax_probabilities_by_hand() -> None:
    logits = [member_logits(s) for s in (1, 2, 3)]
    m = parse_mixture("mixture/d/w", {"x/d/a": 2, "x/d/b": 1, "x/d/c": 1})
    p = 0.5 * hand_softmax(logits[0]) + 0.25 * hand_softmax(logits[1]) + 0.25 * hand_softmax(logits[2])
    np.testing.assert_allclose(mix_probabilities(logits, m.weights), p, rtol=1e-12, atol=1e-15)
    standard = mixture_logits(logits, m.weights, "standard")
    assert standard.dtype == np.float32
    np.testing.assert_allclose(standard, np.log(p), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hand_softmax(standard), p, atol=1e-6)  # softmax of its logits is the mixture
    np.testing.assert_allclose(mixture_logits(logits, m.weights, "prompt-tuning"), p, rtol=1e-6, atol=1e-7)
    # one member: the member itself (its probabilities; its logits up to a constant per row)
    one = mixture_logits(logits[:1], (1.0,), "standard")
    np.testing.assert_allclose(hand_softmax(one), hand_softmax(logits[0]), atol=1e-6)
    # a probability that underflows stays finite in log space
    extreme = [np.array([[0.0, -200.0]], np.float32), np.array([[0.0, -200.0]], np.float32)]
    assert np.isfinite(mixture_logits(extreme, (0.5, 0.5), "standard")).all()


def test_prompt_tuning_convention_hands_probabilities_on_as_logits_like_its_mixture_model() -> None:
    """prompt-tuning's MixtureModel.eval, written out: its logits, argmax and cross-entropy loss."""
    logits = [member_logits(s, n=40, k=5) for s in (4, 5)]
    labels = np.random.default_rng(9).integers(0, 5, size=40)
    weights = [0.3, 0.9]
    w = torch.tensor(weights, dtype=torch.float32)
    w = w / w.sum()
    upstream = sum(w[i] * torch.from_numpy(logits[i]).softmax(dim=1) for i in range(2))
    mix = parse_mixture("mixture/d/w", {"x/d/a": 0.3, "x/d/b": 0.9})
    ours = mixture_logits(logits, mix.weights, "prompt-tuning")
    np.testing.assert_allclose(ours, upstream.numpy(), atol=1e-6)
    assert (ours.argmax(axis=1) == upstream.argmax(dim=1).numpy()).all()
    loss = F.cross_entropy(upstream, torch.from_numpy(labels)).item()  # its loss: a softmax of probabilities
    assert point_metrics(ours, labels, convention="prompt-tuning")["nll"] == pytest.approx(loss, abs=1e-5)
    # the standard convention's NLL is the mixture's own: -log p[label]
    p = mix_probabilities(logits, mix.weights)
    nll = -np.log(p[np.arange(40), labels]).mean()
    assert point_metrics(mixture_logits(logits, mix.weights, "standard"), labels)["nll"] == pytest.approx(nll, 1e-5)


def write_member(
    path: Path,
    logits: np.ndarray,
    ids: list[str],
    labels: list[int],
    bad: set[str] = frozenset(),
    corruption: dict | None = None,
):
    n = len(ids)
    rows = {
        "sample_id": ids,
        "label": labels,
        "label_name": [CLASSES[i] for i in labels],
        "pred": [int(i) for i in logits.argmax(axis=1)],
        "confidence": [0.5] * n,
        "logits": np.where(np.array([[s in bad] for s in ids]), np.nan, logits),
        "frame_indices": [[0, 1]] * n,
        "padded": [False] * n,
        "status": ["error" if s in bad else "ok" for s in ids],
        "error": ["cannot decode" if s in bad else None for s in ids],
    }
    meta = {"class_names": CLASSES, "model_key": path.stem, "checkpoint_sha256": "ab" * 32, "dataset": "demo"}
    meta.update({"split": "test", "options": {"split": "test"}, "corruption": corruption})
    writer = PredictionWriter(path, len(CLASSES), meta)
    writer.write(rows)
    writer.close()


def test_a_mixture_file_from_members_files_with_rows_in_another_order_and_an_error_row(tmp_path: Path) -> None:
    ids = [f"clip{i}.avi" for i in range(6)]
    labels = [0, 1, 2, 3, 0, 1]
    a, b = member_logits(11), member_logits(12)
    write_member(tmp_path / "a.parquet", a, ids, labels)
    order = [5, 3, 1, 0, 2, 4]  # the second member lists the clips in another order, clip2 failed there
    write_member(tmp_path / "b.parquet", b[order], [ids[i] for i in order], [labels[i] for i in order], {"clip2.avi"})
    mix = Mixture("mixture/demo/ab", ("x/demo/a", "x/demo/b"), (0.25, 0.75))
    summary = write_mixture(mix, [tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "m.parquet")
    assert summary == {"clips": 6, "errors": 1, "members": ["x/demo/a", "x/demo/b"]}
    got = load_predictions(tmp_path / "m.parquet")
    ok = [i for i in range(6) if i != 2]
    assert got.sample_ids == [ids[i] for i in ok] and got.labels.tolist() == [labels[i] for i in ok]
    p = 0.25 * hand_softmax(a) + 0.75 * hand_softmax(b)
    np.testing.assert_allclose(got.logits, np.log(p[ok]), atol=1e-5)
    assert got.metadata["model_key"] == "mixture/demo/ab" and got.metadata["class_names"] == CLASSES
    assert (
        got.metadata["mixture"]["weights"] == [0.25, 0.75] and got.metadata["mixture"]["logits"] == "log-probabilities"
    )
    table = read_all(tmp_path / "m.parquet").to_pylist()
    assert table[2]["status"] == "error" and table[2]["error"] == "member x/demo/b: cannot decode"
    assert [r["pred"] for r in table if r["status"] == "ok"] == p[ok].argmax(axis=1).tolist()
    np.testing.assert_allclose([r["confidence"] for r in table if r["status"] == "ok"], p[ok].max(axis=1), atol=1e-6)
    assert pq.read_schema(tmp_path / "m.parquet").field("logits").type.list_size == 4
    write_mixture(mix, [tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "pt.parquet", "prompt-tuning")
    np.testing.assert_allclose(load_predictions(tmp_path / "pt.parquet").logits, p[ok], atol=1e-6)


def test_members_that_differ_in_clips_classes_or_labels_are_refused_naming_both_files(tmp_path: Path) -> None:
    ids = ["x.avi", "y.avi"]
    write_member(tmp_path / "a.parquet", member_logits(1, n=2), ids, [0, 1])
    write_member(tmp_path / "clips.parquet", member_logits(2, n=2), ["x.avi", "z.avi"], [0, 1])
    write_member(tmp_path / "labels.parquet", member_logits(3, n=2), ids, [1, 1])
    mix = Mixture("mixture/demo/ab", ("m/d/a", "m/d/b"), (0.5, 0.5))
    for other, match in (("clips", "hold different clips"), ("labels", "label clips differently")):
        with pytest.raises(ValueError, match=match) as e:
            write_mixture(mix, [tmp_path / "a.parquet", tmp_path / f"{other}.parquet"], tmp_path / "m.parquet")
        assert str(tmp_path / "a.parquet") in str(e.value) and str(tmp_path / f"{other}.parquet") in str(e.value)
    assert not (tmp_path / "m.parquet").exists()


def test_planning_checks_members_are_configured_models_with_one_class_list() -> None:
    mixtures = parse_mixtures({"mixture/d/m": ["a/d/x", "b/d/y"], "mixture/d/n": ["a/d/x", "c/d/z"]})
    models = ["a/d/x", "b/d/y", "mixture/d/n"]
    lines = mixture_errors(mixtures, models, {"a/d/x": ["p", "q"], "b/d/y": ["q", "p"], "c/d/z": None})
    assert len(lines) == 3
    assert "mixture/d/m': members a/d/x and b/d/y answer with different class lists" in lines[0]
    assert "mixture/d/n is also listed under 'models'" in lines[1]
    assert "names members that are not under 'models': ['c/d/z']" in lines[2]
    assert mixture_errors(mixtures, ["a/d/x", "b/d/y", "c/d/z"], {"a/d/x": ["p"], "b/d/y": None}) == []


def test_a_mixture_of_shifted_members_records_their_corruption_and_refuses_mixed_shifts(tmp_path: Path) -> None:
    ids, labels = ["x.avi", "y.avi"], [0, 1]
    fog = {"name": "fog", "severity": 3, "seed": 0}
    write_member(tmp_path / "a.parquet", member_logits(1, n=2), ids, labels, corruption=fog)
    write_member(tmp_path / "b.parquet", member_logits(2, n=2), ids, labels, corruption=fog)
    write_member(tmp_path / "clean.parquet", member_logits(3, n=2), ids, labels)
    mix = Mixture("mixture/demo/ab", ("m/d/a", "m/d/b"), (0.5, 0.5))
    write_mixture(mix, [tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "m.parquet")
    assert load_predictions(tmp_path / "m.parquet").metadata["corruption"] == fog
    write_mixture(mix, [tmp_path / "clean.parquet", tmp_path / "clean.parquet"], tmp_path / "c.parquet")
    assert load_predictions(tmp_path / "c.parquet").metadata["corruption"] is None
    with pytest.raises(ValueError, match="under different corruptions"):
        write_mixture(mix, [tmp_path / "a.parquet", tmp_path / "clean.parquet"], tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()
