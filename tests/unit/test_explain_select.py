"""Clip selection: deterministic, most frequent classes first (ties by name), named classes, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from videoxai.explain.select import choose_classes, select_clips
from videoxai.extract.predictions import Predictions

NAMES = ["Blink", "Grow", "MoveLeft", "MoveRight", "Rotate"]
# label counts: Blink 3, Grow 5, MoveLeft 5, MoveRight 2, Rotate 0
LABELS = [1, 2, 0, 1, 2, 3, 1, 2, 0, 1, 2, 3, 2, 1, 0]


def _predictions(labels=LABELS, seed=0) -> Predictions:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(labels), len(NAMES))).astype(np.float32)
    ids = [f"{NAMES[y]}/v_{NAMES[y]}_g01_c{i:02d}.avi" for i, y in enumerate(labels)]
    return Predictions(ids, np.asarray(labels), logits, list(NAMES), {"model_key": "a/b/c", "split": "test"}, 0)


def test_int_picks_the_most_frequent_classes_with_ties_broken_by_name():
    preds = _predictions()
    assert choose_classes(preds, 2) == [1, 2]  # Grow and MoveLeft (5 each), alphabetical
    assert choose_classes(preds, 3) == [1, 2, 0]
    assert choose_classes(preds, 4) == [1, 2, 0, 3]


def test_named_classes_keep_their_order_and_unknown_names_list_the_valid_ones():
    preds = _predictions()
    assert choose_classes(preds, ["MoveRight", "Blink", "MoveRight"]) == [3, 0]
    with pytest.raises(ValueError) as err:
        choose_classes(preds, ["Blink", "Jump"])
    assert "'Jump'" in str(err.value) and "Blink, Grow, MoveLeft, MoveRight, Rotate" in str(err.value)
    with pytest.raises(ValueError, match="no clips in this split.*Rotate"):
        choose_classes(preds, ["Rotate"])


def test_impossible_counts_are_errors_that_say_what_to_use():
    preds = _predictions()
    with pytest.raises(ValueError, match="at most 4"):
        select_clips(preds, 5, 1)
    with pytest.raises(ValueError, match="at least 1"):
        select_clips(preds, 0, 1)
    with pytest.raises(ValueError, match="samples-per-class"):
        select_clips(preds, 2, 0)
    with pytest.raises(TypeError, match="classes-to-map"):
        select_clips(preds, "Blink", 1)


def test_selection_is_deterministic_and_records_file_name_indices():
    preds = _predictions()
    a = select_clips(preds, 2, 3, seed=7)
    assert a == select_clips(preds, 2, 3, seed=7)
    assert [(c["class_index"], c["sample_index"]) for c in a["clips"]] == [
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 0),
        (2, 1),
        (2, 2),
    ]
    for c in a["clips"]:
        r = c["row"]
        assert preds.sample_ids[r] == c["sample_id"] and preds.labels[r] == c["class_index"] == c["label"]
        assert c["class_name"] == NAMES[c["class_index"]] and c["pred"] == int(preds.preds[r])
        assert 0 < c["confidence"] <= 1
    assert len({c["sample_id"] for c in a["clips"]}) == 6
    assert [c["count"] for c in a["classes"]] == [5, 5]
    # a different seed draws differently (over several classes at least one differs)
    b = select_clips(preds, 2, 3, seed=8)
    assert [c["sample_id"] for c in a["clips"]] != [c["sample_id"] for c in b["clips"]]


def test_draws_are_stable_under_row_order_more_samples_and_other_classes():
    preds = _predictions()
    base = select_clips(preds, ["Grow"], 2, seed=1)["clips"]
    # more samples per class keeps the clips already chosen, with the same indices
    more = select_clips(preds, ["Grow"], 4, seed=1)["clips"]
    assert [c["sample_id"] for c in more[:2]] == [c["sample_id"] for c in base]
    # choosing another class beside it does not change this class's draw
    both = select_clips(preds, ["Blink", "Grow"], 2, seed=1)["clips"]
    assert [c["sample_id"] for c in both if c["class_name"] == "Grow"] == [c["sample_id"] for c in base]
    # the same rows in another order give the same clips
    perm = np.random.default_rng(0).permutation(len(LABELS))
    shuffled = Predictions(
        [preds.sample_ids[i] for i in perm], preds.labels[perm], preds.logits[perm], list(NAMES), {}, 0
    )
    assert [c["sample_id"] for c in select_clips(shuffled, ["Grow"], 2, seed=1)["clips"]] == [
        c["sample_id"] for c in base
    ]


def test_a_small_class_contributes_all_its_clips():
    sel = select_clips(_predictions(), ["MoveRight"], 10)
    assert len(sel["clips"]) == 2 and sel["classes"][0] == {
        "class_index": 3,
        "class_name": "MoveRight",
        "count": 2,
        "selected": 2,
    }


def test_videomix_entries_follow_the_plain_clips_and_continue_their_numbering():
    preds = _predictions()
    sel = select_clips(preds, 3, 2, seed=0, classes_to_mix=2, mix_mode="temporal")
    plain = [c for c in sel["clips"] if "mix" not in c]
    mixes = [c for c in sel["clips"] if "mix" in c]
    assert len(plain) == 6 and sel["clips"][:6] == plain
    # 2 pairs of consecutive mapped classes (Grow, MoveLeft), (MoveLeft, Blink); each listed once per class
    assert [(c["class_index"], c["mix"]["explains"]) for c in mixes] == [
        (1, "base"),
        (2, "other"),
        (2, "base"),
        (0, "other"),
    ]
    names = [(c["class_index"], c["sample_index"]) for c in sel["clips"]]
    assert len(set(names)) == len(names)  # file names stay unique
    assert [c["sample_index"] for c in mixes] == [2, 2, 3, 2]
    for a, b in zip(mixes[::2], mixes[1::2], strict=True):
        assert a["sample_id"] == b["sample_id"] and a["mix"]["sample_id"] == b["mix"]["sample_id"]
        assert (
            preds.labels[a["row"]] == a["mix"]["base_class_index"]
            and preds.labels[a["mix"]["row"]] == a["mix"]["class_index"]
        )
        assert a["mix"]["mode"] == "temporal"
    assert sel == select_clips(preds, 3, 2, seed=0, classes_to_mix=2, mix_mode="temporal")


def test_named_videomix_pairs_and_their_errors():
    preds = _predictions()
    sel = select_clips(preds, ["Blink"], 1, classes_to_mix=[["Blink", "MoveRight"]])
    assert [(c["class_name"], c["sample_index"]) for c in sel["clips"]] == [
        ("Blink", 0),
        ("Blink", 1),
        ("MoveRight", 0),
    ]
    with pytest.raises(ValueError, match="valid class names"):
        select_clips(preds, 1, 1, classes_to_mix=[["Blink", "Jump"]])
    with pytest.raises(ValueError, match="pairs of two different"):
        select_clips(preds, 1, 1, classes_to_mix=[["Blink", "Blink"]])
    with pytest.raises(ValueError, match="at most 0"):
        select_clips(preds, 1, 1, classes_to_mix=1)
    with pytest.raises(ValueError, match="mix mode"):
        select_clips(preds, 2, 1, classes_to_mix=1, mix_mode="cutout")


def test_a_mapped_run_records_its_mapping_and_views_and_never_selects_unmapped_clips():
    """Predictions of a closed-set model on another dataset: labels index its classes, -1 where unmapped."""
    labels = [0, -1, 1, -1, 2, 0, 1, 2, -1, 3]
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(len(labels), len(NAMES))).astype(np.float32)
    ids = [f"clips/{i:02d}.avi" for i in range(len(labels))]
    meta = {"split": "test", "class_mapping": {"blink": "Blink", "grow": "Grow"}, "num_temporal_views": 2}
    preds = Predictions(ids, np.asarray(labels), logits, list(NAMES), meta, 0)
    selection = select_clips(preds, 4, 5, seed=0, classes_to_mix=2)
    assert selection["class_mapping"] == meta["class_mapping"] and selection["num_temporal_views"] == 2
    unmapped = {ids[i] for i, y in enumerate(labels) if y < 0}
    chosen = [c["sample_id"] for c in selection["clips"]] + [
        c["mix"]["sample_id"] for c in selection["clips"] if "mix" in c
    ]
    assert len(selection["clips"]) == 7 + 4 and not unmapped & set(chosen)
    assert all(c["class_index"] >= 0 for c in selection["clips"])
    with pytest.raises(ValueError, match="clips of only 4 classes"):
        select_clips(preds, 5, 1)
