"""Which classes a model is asked about on a test dataset (prompt-tuning's transfer analysis).

One rule for every model: it is first asked to score the test dataset's own
class names (open-set models, e.g. the CLIP families, re-embed their text
prompts). A model that cannot take them (a closed-set head such as a
torchvision CNN's, or a demo text encoder lacking the words) answers with its
own classes instead, but only when a class-name mapping for the (test,
train) dataset pair is configured: each test label is then mapped onto the
model's class index. Without a mapping that is an error naming the fix.

Test classes the mapping leaves without a training class keep their clips
in the predictions as ``status=error`` rows (nothing is decoded for them):
partial class overlap is the normal case in transfer (UCF101 and HMDB51
share about a dozen actions), and the rows show what was left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from videoxai.conventions import PROMPT_TUNING, STANDARD
from videoxai.data.names import map_classes, read_class_mapping
from videoxai.models.base import VideoClassifier

ClassMappingSource = dict[str, str] | str | os.PathLike[str]


@dataclass(frozen=True)
class ClassPlan:
    """How the test dataset's labels meet the model's outputs.

    ``class_names`` name the logits' columns; ``label_index[c]`` is the column
    of test class ``c`` (-1: no training class); ``mapping`` (test class ->
    model class) is set only when labels were mapped onto a closed-set head.
    Under prompt-tuning's UCF101 label order (:func:`videoxai.conventions.label_order`)
    the columns are the sorted names and ``label_index[c] = c``: the column
    prompt-tuning scores class ``c`` against, another class's for four UCF101 classes.
    """

    class_names: list[str]
    test_class_names: list[str]
    label_index: list[int]
    mapping: dict[str, str] | None = None

    @property
    def unmapped(self) -> list[str]:
        return [n for n, i in zip(self.test_class_names, self.label_index, strict=True) if i < 0]

    def to_metadata(self) -> dict:
        """What the predictions file records so a reader can tell a mapped run from a direct one."""
        return {
            "test_class_names": list(self.test_class_names),
            "class_mapping": dict(self.mapping) if self.mapping is not None else None,
            "unmapped_classes": self.unmapped,
        }


def plan_classes(
    model: VideoClassifier,
    test_names: list[str],
    mapping: ClassMappingSource | None = None,
    label_order: str = STANDARD,
) -> ClassPlan:
    """Set ``model`` up to score ``test_names`` if it can; else map them onto its classes with ``mapping``.

    ``label_order`` ``prompt-tuning``: the model scores the names sorted by
    Python, and test label ``c`` stays index ``c`` (prompt-tuning's UCF101
    reader, see :func:`videoxai.conventions.label_order`); a mapping onto a
    closed-set head matches names, so it is unaffected.

    ``mapping`` is ``{test class: training class}`` or a CSV file of such
    pairs (see :func:`~videoxai.data.names.read_class_mapping`); test classes
    it does not list match a training class of the same prompt name
    (``brush_hair`` ~ ``BrushHair``). An open-set model that can take the
    test names ignores the mapping.
    """
    test_names = list(test_names)
    columns = sorted(test_names) if label_order == PROMPT_TUNING else test_names
    identity = list(range(len(test_names)))
    if list(model.class_names) == columns:
        return ClassPlan(columns, test_names, identity)
    setter = getattr(model, "set_class_names", None)
    reason = "it has no way to take new class names"
    if setter is not None:
        try:
            setter(columns)
            return ClassPlan(columns, test_names, identity)
        except ValueError as exc:
            reason = str(exc)
    name = model.method or type(model).__name__
    if mapping is None:
        raise ValueError(
            f"{name} knows {len(model.class_names)} classes ({_first(model.class_names)}) but the test dataset has "
            f"{len(test_names)} ({_first(test_names)}), and it cannot score the test dataset's class names: {reason}. "
            "Evaluate it on its training dataset, or configure a class-name mapping under 'class-mapping': "
            "{dataset-test: {dataset-train: {test class: training class}}}"
        )
    pairs = read_class_mapping(mapping)
    index = map_classes(test_names, list(model.class_names), pairs, allow_unmatched=True)
    if all(i < 0 for i in index):
        raise ValueError(
            f"the class mapping matches none of the test dataset's {len(test_names)} classes ({_first(test_names)}) "
            f"to a class of {name} ({_first(model.class_names)}): nothing could be evaluated; list the pairs in it"
        )
    own = list(model.class_names)
    used = {t: own[i] for t, i in zip(test_names, index, strict=True) if i >= 0}
    return ClassPlan(own, test_names, index, used)


def _first(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")
