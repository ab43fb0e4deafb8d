"""Which frames of a clip a model sees: TSN-style uniform segment centres."""

from __future__ import annotations


def segment_centres(num_total: int, num_frames: int) -> tuple[list[int], bool]:
    """Split ``num_total`` frames into ``num_frames`` equal segments and take each centre.

    Centres (rather than random offsets) make evaluation deterministic. A clip
    shorter than ``num_frames`` is padded by repeating frames (the same
    formula yields repeated indices); ``padded`` is True then, so the caller
    can flag the row.

    Returns ``(indices, padded)``; indices are sorted, in ``[0, num_total)``.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if num_total < 1:
        raise ValueError(f"clip has no frames (num_total={num_total})")
    seg = num_total / num_frames
    indices = [min(int(seg * (i + 0.5)), num_total - 1) for i in range(num_frames)]
    return indices, num_total < num_frames


def segment_views(num_total: int, num_frames: int, num_views: int = 1) -> tuple[list[list[int]], bool]:
    """``num_views`` temporal views of ``num_frames`` frames each, for multi-view evaluation.

    Every view takes one frame per segment; view ``v`` sits at offset
    ``(v + 1) / (num_views + 1)`` inside each segment, so the views
    interleave evenly and ``num_views=1`` gives :func:`segment_centres`.
    """
    if num_views < 1:
        raise ValueError(f"num_views must be >= 1, got {num_views}")
    if num_views == 1:
        indices, padded = segment_centres(num_total, num_frames)
        return [indices], padded
    segment_centres(num_total, num_frames)  # validates the arguments
    seg = num_total / num_frames
    views = [
        [min(int(seg * (i + (v + 1) / (num_views + 1))), num_total - 1) for i in range(num_frames)]
        for v in range(num_views)
    ]
    return views, num_total < num_frames


def linspace_indices(num_total: int, num_frames: int, num_views: int = 1) -> tuple[list[list[int]], bool]:
    """The prompt-tuning repository's sampling: ``linspace(0, N-1, num_frames * num_views)``, truncated, in contiguous views.

    Prompt-tuning picks ``num_frames * num_views`` evenly spaced frames over the
    whole clip and splits them into ``num_views`` consecutive chunks (view 0
    is the first ``num_frames`` of them), so its temporal views are
    consecutive stretches of the clip, unlike :func:`segment_views`. The
    indices come from float32 ``torch.linspace`` truncated towards zero,
    exactly as prompt-tuning computes them (its rounding differs from float64
    arithmetic for some lengths, so torch itself is used; imported here
    only when called).

    Prompt-tuning drops (and deletes!) a clip shorter than the frames it needs;
    here the same formula yields repeated indices instead and ``padded`` is
    True, as for :func:`segment_views`. Returns ``(views, padded)``.
    """
    if num_frames < 1 or num_views < 1:
        raise ValueError(f"num_frames and num_views must be >= 1, got {num_frames} and {num_views}")
    if num_total < 1:
        raise ValueError(f"clip has no frames (num_total={num_total})")
    import torch

    needed = num_frames * num_views
    flat = torch.linspace(0, num_total - 1, needed).long().tolist()
    views = [flat[v * num_frames : (v + 1) * num_frames] for v in range(num_views)]
    return views, num_total < needed
