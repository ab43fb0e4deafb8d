"""Divided space-time (TimeSformer-style) video tower with exact, embeddable attention.

Each block attends over time at every spatial position, then over space
within every frame (the global CLS token joins each frame's spatial
attention and keeps the mean of its per-frame outputs), then applies an MLP.

Two options give the other prompt-tuning families their mechanism on the same tower:
``frame_tokens`` learned tokens per frame that join that frame's spatial
attention (``dual_coop``'s visual prompts; kept through ``frame_token_layers``
blocks, then dropped), and ``summary_attention``, where the global token and
the per-frame tokens attend among themselves after every spatial attention
(``stt``'s frame- and video-level summary tokens). Joint token order: global
token, then frame tokens (frame-major), then patches (see ``TokenLayout``).

The fast path uses ``F.scaled_dot_product_attention`` (``eager``, :mod:`videoxai.models.kernels`: explicit). When attention is
requested, probabilities are computed explicitly and each factor is embedded
as a dense ``(B, heads, N, N)`` matrix over the joint token set
(1 CLS + T*h*w patches, see :class:`~videoxai.models.base.TokenLayout`) whose
product with the joint value matrix reproduces that factor's output exactly,
so rollout can treat the two factors like ordinary attention layers. The
factor's output is then computed from probabilities read back out of that
joint matrix (``read_*``), so the returned matrices are part of the autograd
graph and their gradients are those of the joint layer (grad-rollout).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.models.base import TokenLayout
from videoxai.models.kernels import attention_kernel

Embedding = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""Per-sequence probabilities -> (joint ``(B, H, N, N)`` matrix, the probabilities read back from it)."""


@dataclass(frozen=True)
class SpaceTimeConfig:
    """Hyper-parameters of :class:`SpaceTimeTower` (all JSON-serialisable)."""

    num_frames: int = 8
    image_size: int = 64
    patch_size: int = 8
    width: int = 64
    layers: int = 2
    heads: int = 4
    mlp_ratio: float = 2.0
    stem_channels: int = 16
    stem_stride: int = 2
    stem_frames: int = 1  # temporal kernel of the stem's first conv: > 1 lets it see local motion itself
    stem_layers: int = 1  # conv layers in the stem: the first (strided), then 3x3 ones
    stem_motion: bool = True  # also feed frame differences (x[t+1] - x[t-1]) to the stem
    frame_tokens: int = 0  # learned tokens per frame, in that frame's spatial attention
    frame_token_layers: int | None = None  # blocks that keep the frame tokens (None: all)
    global_in_spatial: bool = True  # the global token joins every frame's spatial attention
    summary_attention: bool = False  # global + frame tokens attend among themselves in every block

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


class Attention(nn.Module):
    """Multi-head self-attention: fused kernel by default, explicit probabilities on request."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def heads_qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys, values as ``(B, heads, L, head_dim)``."""
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def forward(
        self,
        x: torch.Tensor,
        need_weights: bool = False,
        embed: Embedding | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Output and, when ``need_weights``, the probabilities (embedded by ``embed`` when given).

        With ``embed``, the output is computed from probabilities read back
        out of the embedded matrix, so that matrix is part of the autograd
        graph: gradients of any score with respect to it exist (grad-rollout).
        """
        b, n, d = x.shape
        q, k, v = self.heads_qkv(x)
        if need_weights or attention_kernel() == "eager":
            probs = torch.softmax((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5, dim=-1)
            if embed is not None:
                probs, used = embed(probs)
            else:
                used = probs
            out = used @ v
            probs = probs if need_weights else None
        else:
            probs = None
            out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d)), probs


def embed_temporal(probs: torch.Tensor, batch: int, frames: int, hw: int, num_prefix: int = 1) -> torch.Tensor:
    """Embed temporal attention ``(B*hw, H, T, T)`` into ``(B, H, N, N)`` over prefix + T*hw patches.

    Patch ``(t, p)`` attends to ``(t', p)`` only; prefix tokens do not take
    part, so their rows are the identity.
    """
    heads = probs.shape[1]
    n = frames * hw
    p = probs.reshape(batch, hw, heads, frames, frames).permute(0, 2, 3, 4, 1)  # B,H,T,T',hw
    patch = torch.diag_embed(p)  # B,H,T,T',hw,hw'
    patch = patch.permute(0, 1, 2, 4, 3, 5).reshape(batch, heads, n, n)
    out = probs.new_zeros(batch, heads, num_prefix + n, num_prefix + n)
    idx = torch.arange(num_prefix, device=probs.device)
    out[:, :, idx, idx] = 1.0
    out[:, :, num_prefix:, num_prefix:] = patch
    return out


def embed_frames(
    probs: torch.Tensor,
    batch: int,
    index: torch.Tensor,
    num_tokens: int,
    with_global: bool,
    fill: float = 1.0,
) -> torch.Tensor:
    """Embed per-frame attention ``(B*T, H, L, L)`` into ``(B, H, N, N)``.

    Frame ``t``'s sequence is ``[global token (if with_global)] + tokens
    index[t]`` (joint indices). Rows of frame tokens keep their frame's
    probabilities. The global token (joint index 0) is shared by all frames
    and keeps the mean of its per-frame outputs, so its row is the mean of
    the per-frame rows. Tokens in no sequence get identity rows (``fill`` on
    the diagonal: 0 embeds values that are not probabilities, e.g. relevance).
    """
    frames = index.shape[0]
    heads, length = probs.shape[1], probs.shape[-1]
    g = int(with_global)
    p = probs.reshape(batch, frames, heads, length, length)
    out = probs.new_zeros(batch, heads, num_tokens, num_tokens)
    covered = torch.zeros(num_tokens, dtype=torch.bool, device=probs.device)
    zero = torch.zeros(1, dtype=index.dtype, device=index.device)
    for t in range(frames):
        cols = torch.cat([zero, index[t]]) if g else index[t]
        out[:, :, index[t][:, None], cols[None, :]] = p[:, t, :, g:, :]
        if g:
            out[:, :, 0].index_add_(-1, cols, p[:, t, :, 0, :] / frames)
        covered[index[t]] = True
    covered[0] |= bool(g)
    idle = (~covered).nonzero().flatten()
    if fill:
        out[:, :, idle, idle] = fill
    return out


def embed_subset(probs: torch.Tensor, index: torch.Tensor, num_tokens: int, fill: float = 1.0) -> torch.Tensor:
    """Embed attention ``(B, H, L, L)`` among tokens ``index`` into ``(B, H, N, N)``; identity elsewhere (``fill``)."""
    b, h = probs.shape[:2]
    out = probs.new_zeros(b, h, num_tokens, num_tokens)
    idle = torch.ones(num_tokens, dtype=torch.bool, device=probs.device)
    idle[index] = False
    idle_idx = idle.nonzero().flatten()
    if fill:
        out[:, :, idle_idx, idle_idx] = fill
    out[:, :, index[:, None], index[None, :]] = probs
    return out


def read_temporal(joint: torch.Tensor, batch: int, frames: int, hw: int, num_prefix: int = 1) -> torch.Tensor:
    """Inverse of :func:`embed_temporal`: the ``(B*hw, H, T, T)`` probabilities, as a view of ``joint``."""
    heads = joint.shape[1]
    patch = joint[:, :, num_prefix:, num_prefix:].reshape(batch, heads, frames, hw, frames, hw)
    diag = torch.diagonal(patch, dim1=3, dim2=5)  # B,H,T,T',hw
    return diag.permute(0, 4, 1, 2, 3).reshape(batch * hw, heads, frames, frames)


def read_frames(joint: torch.Tensor, index: torch.Tensor, with_global: bool) -> torch.Tensor:
    """Inverse of :func:`embed_frames`: per-frame probabilities ``(B*T, H, L, L)`` read out of ``joint``.

    The global token's row is shared: frame ``t`` gets ``[A[0, 0], T * A[0, index[t]]]``.
    Those rows differ from the original per-frame rows, but their mean over
    frames, which is all the global token keeps, times the values is exactly
    the global token's output, and its gradient with respect to ``joint`` is
    that of the joint layer.
    """
    frames = index.shape[0]
    rows = []
    for t in range(frames):
        cols = index[t]
        block = joint[:, :, index[t][:, None], cols[None, :]]
        if with_global:
            own = joint[:, :, index[t], :1]  # frame tokens / patches -> global token
            block = torch.cat([own, block], -1)
            top = torch.cat([joint[:, :, :1, :1], joint[:, :, :1, index[t]] * frames], -1)
            block = torch.cat([top, block], 2)
        rows.append(block)
    out = torch.stack(rows, 1)
    return out.reshape(-1, *out.shape[2:])


def read_subset(joint: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`embed_subset`."""
    return joint[:, :, index[:, None], index[None, :]]


def temporal_embedding(batch: int, frames: int, hw: int, num_prefix: int) -> Embedding:
    def embed(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint = embed_temporal(p, batch, frames, hw, num_prefix)
        return joint, read_temporal(joint, batch, frames, hw, num_prefix)

    return embed


def frames_embedding(batch: int, index: torch.Tensor, num_tokens: int, with_global: bool) -> Embedding:
    def embed(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint = embed_frames(p, batch, index, num_tokens, with_global)
        return joint, read_frames(joint, index, with_global)

    return embed


def subset_embedding(index: torch.Tensor, num_tokens: int) -> Embedding:
    def embed(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint = embed_subset(p, index, num_tokens)
        return joint, read_subset(joint, index)

    return embed


def motion_channels(x: torch.Tensor) -> torch.Tensor:
    """Central frame differences ``x[t+1] - x[t-1]`` (one-sided at the ends) of ``(B, C, T, H, W)``.

    A moving object lights up at its leading and trailing edges with opposite
    signs, so direction is visible to the very first layer; a static
    background cancels out.
    """
    nxt = torch.cat([x[:, :, 1:], x[:, :, -1:]], dim=2)
    prev = torch.cat([x[:, :, :1], x[:, :, :-1]], dim=2)
    return nxt - prev


class DividedBlock(nn.Module):
    """Temporal attention, spatial attention (+ summary attention), MLP; pre-norm residuals.

    Token state: ``g`` (B, 1, D) global token, ``f`` (B, T, P, D) frame tokens
    (P may be 0), ``x`` (B, T*hw, D) patches.
    """

    def __init__(
        self,
        width: int,
        heads: int,
        mlp_ratio: float,
        global_in_spatial: bool,
        summary: bool,
    ):
        super().__init__()
        self.global_in_spatial = global_in_spatial
        self.norm_t = nn.LayerNorm(width)
        self.attn_t = Attention(width, heads)
        self.norm_s = nn.LayerNorm(width)
        self.attn_s = Attention(width, heads)
        if summary:
            self.norm_sum = nn.LayerNorm(width)
            self.attn_sum = Attention(width, heads)
        self.summary = summary
        self.norm_mlp = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(
        self,
        g: torch.Tensor,
        f: torch.Tensor,
        x: torch.Tensor,
        hw: int,
        need_weights: bool = False,
        total_f: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """One block; ``total_f`` is the frame-token count of the joint layout (when this block has dropped them)."""
        b, frames, n_f, d = f.shape
        total_f = n_f if total_f is None else total_f
        prefix = 1 + frames * total_f
        n = prefix + frames * hw
        dev = x.device
        attn: list[torch.Tensor] = []
        # temporal: every spatial position attends over frames
        xt = x.reshape(b, frames, hw, d).transpose(1, 2).reshape(b * hw, frames, d)
        emb = temporal_embedding(b, frames, hw, prefix) if need_weights else None
        out_t, a = self.attn_t(self.norm_t(xt), need_weights, emb)
        attn += [a] if need_weights else []
        x = x + out_t.reshape(b, hw, frames, d).transpose(1, 2).reshape(b, frames * hw, d)
        # spatial: each frame's [global] + frame tokens + patches
        parts = [g.expand(b, frames, d).reshape(b * frames, 1, d)] if self.global_in_spatial else []
        parts += [f.reshape(b * frames, n_f, d), x.reshape(b * frames, hw, d)]
        emb = None
        if need_weights:
            t = torch.arange(frames, device=dev)[:, None]
            index = torch.cat(
                [
                    1 + t * total_f + torch.arange(n_f, device=dev),
                    prefix + t * hw + torch.arange(hw, device=dev),
                ],
                1,
            )
            emb = frames_embedding(b, index, n, self.global_in_spatial)
        out_s, a = self.attn_s(self.norm_s(torch.cat(parts, 1)), need_weights, emb)
        attn += [a] if need_weights else []
        out_s = out_s.reshape(b, frames, -1, d)
        k = int(self.global_in_spatial)
        if k:
            g = g + out_s[:, :, :1].mean(dim=1)
        f = f + out_s[:, :, k : k + n_f]
        x = x + out_s[:, :, k + n_f :].reshape(b, frames * hw, d)
        if self.summary:  # the global token and the frame tokens summarise among themselves
            seq = torch.cat([g, f.reshape(b, frames * n_f, d)], 1)
            emb = subset_embedding(torch.arange(1 + frames * n_f, device=dev), n) if need_weights else None
            out_u, a = self.attn_sum(self.norm_sum(seq), need_weights, emb)
            attn += [a] if need_weights else []
            g = g + out_u[:, :1]
            f = f + out_u[:, 1:].reshape(b, frames, n_f, d)
        # MLP on every token
        tokens = torch.cat([g, f.reshape(b, frames * n_f, d), x], 1)
        tokens = tokens + self.mlp(self.norm_mlp(tokens))
        g, f, x = (
            tokens[:, :1],
            tokens[:, 1 : 1 + frames * n_f].reshape(b, frames, n_f, d),
            tokens[:, 1 + frames * n_f :],
        )
        return g, f, x, attn


class SpaceTimeTower(nn.Module):
    """Conv stem → patchify → space/time position embeddings → divided blocks → CLS feature."""

    def __init__(self, cfg: SpaceTimeConfig):
        super().__init__()
        if cfg.image_size % cfg.patch_size or cfg.patch_size % cfg.stem_stride:
            raise ValueError(
                f"image_size {cfg.image_size} must be a multiple of patch_size {cfg.patch_size}, "
                f"and patch_size a multiple of stem_stride {cfg.stem_stride}"
            )
        self.cfg = cfg
        # the stem's stride is part of the patch: stride s then a (patch/s)-sized patchify = patch size overall
        if cfg.stem_frames % 2 == 0:
            raise ValueError(f"stem_frames must be odd (same number of frames out as in), got {cfg.stem_frames}")
        self.stem = nn.Sequential(
            nn.Conv3d(
                6 if cfg.stem_motion else 3,
                cfg.stem_channels,
                (cfg.stem_frames, 3, 3),
                stride=(1, cfg.stem_stride, cfg.stem_stride),
                padding=(cfg.stem_frames // 2, 1, 1),
            ),
            nn.GELU(),
            *[
                m
                for _ in range(cfg.stem_layers - 1)
                for m in (
                    nn.Conv3d(
                        cfg.stem_channels,
                        cfg.stem_channels,
                        (1, 3, 3),
                        padding=(0, 1, 1),
                    ),
                    nn.GELU(),
                )
            ],
        )
        inner = cfg.patch_size // cfg.stem_stride
        self.patchify = nn.Conv2d(cfg.stem_channels, cfg.width, inner, stride=inner)
        self.cls_token = nn.Parameter(torch.randn(1, 1, cfg.width) * 0.02)
        if cfg.frame_tokens:
            self.frame_tokens = nn.Parameter(torch.randn(1, 1, cfg.frame_tokens, cfg.width) * 0.02)
        self.pos_space = nn.Parameter(torch.randn(1, cfg.grid * cfg.grid, cfg.width) * 0.02)
        self.pos_time = nn.Parameter(torch.randn(1, cfg.num_frames, 1, cfg.width) * 0.02)
        self.blocks = nn.ModuleList(
            DividedBlock(
                cfg.width,
                cfg.heads,
                cfg.mlp_ratio,
                cfg.global_in_spatial,
                cfg.summary_attention,
            )
            for _ in range(cfg.layers)
        )
        self.norm = nn.LayerNorm(cfg.width)

    @property
    def token_layout(self) -> TokenLayout:
        """Global token (index 0, the readout), then ``frames * frame_tokens`` prefix tokens, then patches."""
        g = self.cfg.grid
        return TokenLayout(
            num_prefix=1 + self.cfg.num_frames * self.cfg.frame_tokens,
            frames=self.cfg.num_frames,
            height=g,
            width=g,
        )

    def check_input(self, video: torch.Tensor) -> None:
        """Fail with a message that says what the tower expects (it has fixed position embeddings)."""
        cfg = self.cfg
        if video.ndim != 5 or video.shape[2] != 3:
            raise ValueError(f"expected a clip batch (B, T, 3, H, W), got shape {tuple(video.shape)}")
        _, t, _, h, w = video.shape
        if t != cfg.num_frames or h != cfg.image_size or w != cfg.image_size:
            raise ValueError(
                f"this model takes {cfg.num_frames} frames of {cfg.image_size}x{cfg.image_size}, "
                f"got {t} frames of {h}x{w}: resample/crop the clip to the model's input spec"
            )

    def forward(self, video: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Global feature ``(B, width)`` of a normalised clip batch, and (if asked) the embedded attentions."""
        self.check_input(video)
        cfg = self.cfg
        b, t = video.shape[:2]
        x = video.transpose(1, 2)  # (B, 3, T, H, W)
        if cfg.stem_motion:
            x = torch.cat([x, motion_channels(x)], dim=1)
        x = self.stem(x)  # (B, C, T, H', W')
        x = self.patchify(x.transpose(1, 2).flatten(0, 1))  # (B*T, D, g, g)
        hw = x.shape[-2] * x.shape[-1]
        x = x.flatten(2).transpose(1, 2).reshape(b, t, hw, -1)
        x = (x + self.pos_space.unsqueeze(1) + self.pos_time).reshape(b, t * hw, -1)
        g = self.cls_token.expand(b, 1, -1)
        if cfg.frame_tokens:
            f = (self.frame_tokens + self.pos_time).expand(b, t, -1, -1)
        else:
            f = x.new_zeros(b, t, 0, cfg.width)
        keep = cfg.layers if cfg.frame_token_layers is None else cfg.frame_token_layers
        attentions: list[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            if i == keep:  # frame tokens are dropped from here on
                f = f[:, :, :0]
            g, f, x, attn = block(g, f, x, hw, need_weights, total_f=cfg.frame_tokens)
            attentions.extend(attn)
        return self.norm(g[:, 0]), attentions

    def spatial_tokens_to_grid(self, a: torch.Tensor) -> torch.Tensor:
        """Map a spatial-attention input ``(B*T, L, D)`` to ``(B, D, T, h, w)``: its last h*w tokens are the patches."""
        g, t = self.cfg.grid, self.cfg.num_frames
        bt, _, d = a.shape
        return a[:, -g * g :].reshape(bt // t, t, g, g, d).permute(0, 4, 1, 2, 3)
