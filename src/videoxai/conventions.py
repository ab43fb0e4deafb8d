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
