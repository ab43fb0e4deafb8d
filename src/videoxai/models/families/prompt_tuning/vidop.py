"""Prompt-tuning's ``vidop`` (VidOpModel, src/modeling/VidOp.py): ``dual_coop`` without learned text context.

VidOpModel is DualModel with ``ctx-len`` forced to 0: the class prompt is
``[BOS, class tokens.., EOS]`` through the CoOp text path (no mask, no final
LayerNorm), and only the visual prompts (``ctx-len-video``, appended after
every frame's patches) and the pooling are learned. Its run folders hold an
empty ``context_vectors_text`` of shape (0, text width).
"""

from __future__ import annotations

from videoxai.models.families.prompt_tuning.dual import DualModel


class VidOpModel(DualModel):
    """``vidop`` with a CLIP backbone: prompt-tuning's ``VidOpModel`` (``RunOptions`` sets its ctx-len to 0)."""

    method = "vidop"
