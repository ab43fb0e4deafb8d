"""The ground-truth scores against Quantus (PyPI ``quantus``), each frame an image-shaped input (issue #31).

Relevance mass accuracy (Arras et al. 2022) is videoxai's ``energy_in_mask``; relevance rank accuracy is
``relevance_rank_accuracy``; the pointing game is Quantus' ``PointingGame`` on maps without ties. Quantus is a
test dependency only: the summary job does not import it.
"""

from __future__ import annotations

import numpy as np
import pytest

from videoxai.explain import localisation

quantus = pytest.importorskip("quantus")


def _frames(n: int = 3, t: int = 4, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    maps = rng.random((n, t, size, size)).astype(np.float32)
    masks = np.zeros((n, t, size, size), bool)
    for i in range(n):
        for j in range(t):
            y, x = rng.integers(0, size - 6, 2)
            h, w = rng.integers(2, 7, 2)
            masks[i, j, y : y + h, x : x + w] = True
    maps[0, 1] += 2 * masks[0, 1]  # one frame whose map sits on the object
    return maps, masks


def _quantus(metric, maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    n, t, h, w = maps.shape
    a = maps.reshape(n * t, 1, h, w)
    s = masks.reshape(n * t, 1, h, w).astype(np.float32)
    x = np.zeros((n * t, 1, h, w), np.float32)
    scores = metric(model=None, x_batch=x, y_batch=np.zeros(n * t, int), a_batch=a, s_batch=s, channel_first=True)
    return np.asarray(scores, dtype=np.float64).reshape(n, t)


def test_relevance_mass_and_rank_accuracy_equal_quantus():
    maps, masks = _frames()
    kw = {"disable_warnings": True, "normalise": False, "abs": False, "display_progressbar": False}
    mass = _quantus(quantus.RelevanceMassAccuracy(**kw), maps, masks)
    rank = _quantus(quantus.RelevanceRankAccuracy(**kw), maps, masks)
    np.testing.assert_allclose(localisation.energy_in_mask(maps, masks), mass, rtol=1e-6)
    np.testing.assert_allclose(localisation.rank_accuracy(maps, masks), rank, rtol=1e-12)
    assert rank[0, 1] == 1.0  # the planted frame: every top pixel on the object
    # and as the summary reports them: the frame means
    scores = localisation.map_scores(maps, masks)
    assert scores["energy_in_mask"] == pytest.approx(mass.mean())
    assert scores["relevance_rank_accuracy"] == pytest.approx(rank.mean())


def test_pointing_game_equals_quantus():
    maps, masks = _frames()
    kw = {"disable_warnings": True, "normalise": False, "abs": False, "display_progressbar": False}
    hits = _quantus(quantus.PointingGame(**kw), maps, masks)
    np.testing.assert_array_equal(localisation.pointing_hits(maps, masks), hits)


def test_random_logit_draws_quantus_classes_and_gives_its_values():
    """Sixt et al.'s random-logit test: Quantus' RandomLogit with Spearman similarity, on maps that depend on the
    class explained (one fixed map per class); videoxai's draw of the other class and its Spearman equal it."""
    import torch

    from videoxai.explain import evaluate as ev

    n, k, size = 6, 5, 8
    rng = np.random.default_rng(3)
    per_class = rng.random((k, 1, size, size)).astype(np.float32)
    y = np.array([0, 4, 2, 2, 1, 3])
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(size * size, k))

    def explain(model, inputs, targets, **kwargs):
        return per_class[np.asarray(targets)]

    metric = quantus.RandomLogit(
        num_classes=k,
        seed=11,
        similarity_func=quantus.similarity_func.correlation_spearman,
        disable_warnings=True,
        display_progressbar=False,
        normalise=False,
        abs=False,
    )
    x = rng.random((n, 1, size, size)).astype(np.float32)
    theirs = metric(model=model, x_batch=x, y_batch=y, a_batch=per_class[y], explain_func=explain, batch_size=n)
    off = ev.off_classes(y, k, seed=11)
    assert (off != y).all()
    ours = ev.spearman_per_clip(torch.from_numpy(per_class[y]), torch.from_numpy(per_class[off]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
