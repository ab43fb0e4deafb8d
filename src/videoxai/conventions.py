"""The two conventions every number can follow: ``standard`` or ``prompt-tuning``.

``prompt-tuning`` reproduces the numbers of the upstream's own analysis scripts
(FabianScott/prompt-tuning-for-clip-based-action-recognition: its calibration
bins and float32 arithmetic, its rollout order and Grad-CAM layer); ``standard``
is the textbook form. A convention is a set of parameters of the one engine
(calibration binning, explainer steps), never a second copy of it; this module
is the one place naming them.
"""

from __future__ import annotations

from typing import Literal

Convention = Literal["standard", "prompt-tuning"]
STANDARD = "standard"
PROMPT_TUNING = "prompt-tuning"
CONVENTIONS: tuple[str, ...] = (STANDARD, PROMPT_TUNING)
# earlier spellings, refused with the new name
RENAMED = {"seed": PROMPT_TUNING, "origin": PROMPT_TUNING}


def label_order(convention: str, dataset_format: str) -> str:
    """How a dataset's labels meet the logit columns under ``convention``: ``standard`` or ``prompt-tuning``.

    Prompt-tuning's UCF101 reader (``UCF101Dataset``) makes the logit columns
    the class names sorted by Python while its labels keep ``classInd.txt``'s
    indices. In the official list Hammering/HammerThrow and JumpingJack/JumpRope
    are not in that order (``'T' < 'i'``, ``'R' < 'i'``), so it scores those four
    classes' clips against another class's column. ``prompt-tuning`` reproduces
    that on ``ucf101`` datasets (its numbers); everywhere else, and under
    ``standard``, each label is its own class's column. (Its HMDB51 and
    Kinetics readers agree with videoxai's: sorted names for both.)
    """
    if check_convention(convention) == PROMPT_TUNING and dataset_format == "ucf101":
        return PROMPT_TUNING
    return STANDARD


def check_convention(convention: str) -> str:
    """Reject an unknown convention in one line, naming the config key and the choices (and a renamed value)."""
    if convention in CONVENTIONS:
        return convention
    if convention in RENAMED:
        raise ValueError(
            f"conventions: {convention!r} is now called {RENAMED[convention]!r} "
            f"(the upstream's numbers): set conventions: {RENAMED[convention]}"
        )
    raise ValueError(
        f"conventions must be one of {', '.join(CONVENTIONS)} (the config's 'conventions'), got {convention!r}"
    )
