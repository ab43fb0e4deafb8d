"""Divided space-time (TimeSformer-style) video tower with exact, embeddable attention.

Each block attends over time at every spatial position, then over space
within every frame (the global CLS token joins each frame's spatial
attention and keeps the mean of its per-frame outputs), then applies an MLP.

The fast path uses ``F.scaled_dot_product_attention``. When attention is
requested, probabilities are computed explicitly and each factor is embedded
as a dense ``(B, heads, N, N)`` matrix over the joint token set
(1 CLS + T*h*w patches, see :class:`~videoxai.models.base.TokenLayout`) whose
product with the joint value matrix reproduces that factor's output exactly,
so rollout can treat the two factors like ordinary attention layers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import TokenLayout


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
    stem_frames: int = 3  # temporal kernel of the stem: > 1 lets it see local motion

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

    def forward(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, n, d = x.shape
        q, k, v = self.heads_qkv(x)
        if need_weights:
            probs = torch.softmax((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5, dim=-1)
            out = probs @ v
        else:
            probs = None
            out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d)), probs


def embed_temporal(probs: torch.Tensor, batch: int, frames: int, hw: int) -> torch.Tensor:
    """Embed temporal attention ``(B*hw, H, T, T)`` into ``(B, H, N, N)`` over CLS + T*hw patches.

    Patch ``(t, p)`` attends to ``(t', p)`` only; CLS does not take part, so
    its row is the identity.
    """
    heads = probs.shape[1]
    n = frames * hw
    p = probs.reshape(batch, hw, heads, frames, frames).permute(0, 2, 3, 4, 1)  # B,H,T,T',hw
    patch = torch.diag_embed(p)  # B,H,T,T',hw,hw'
    patch = patch.permute(0, 1, 2, 4, 3, 5).reshape(batch, heads, n, n)
    out = probs.new_zeros(batch, heads, n + 1, n + 1)
    out[:, :, 0, 0] = 1.0
    out[:, :, 1:, 1:] = patch
    return out


def embed_spatial(probs: torch.Tensor, batch: int, frames: int, hw: int) -> torch.Tensor:
    """Embed per-frame spatial attention ``(B*T, H, 1+hw, 1+hw)`` into ``(B, H, N, N)``.

    Patch rows keep their frame's probabilities (block diagonal over frames,
    plus the CLS column). The CLS output is the mean over frames of its
    per-frame outputs, so its row is the mean of the per-frame CLS rows.
    """
    heads = probs.shape[1]
    n = frames * hw
    p = probs.reshape(batch, frames, heads, hw + 1, hw + 1)
    eye = torch.eye(frames, dtype=probs.dtype, device=probs.device)
    patch = torch.einsum("bthij,ts->bhtisj", p[..., 1:, 1:], eye).reshape(batch, heads, n, n)
    out = probs.new_zeros(batch, heads, n + 1, n + 1)
    out[:, :, 1:, 1:] = patch
    out[:, :, 1:, 0] = p[..., 1:, 0].permute(0, 2, 1, 3).reshape(batch, heads, n)
    out[:, :, 0, 0] = p[..., 0, 0].mean(dim=1)
    out[:, :, 0, 1:] = p[..., 0, 1:].permute(0, 2, 1, 3).reshape(batch, heads, n) / frames
    return out


class DividedBlock(nn.Module):
    """Temporal attention, then spatial attention (with CLS), then MLP; pre-norm residuals."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm_t = nn.LayerNorm(width)
        self.attn_t = Attention(width, heads)
        self.norm_s = nn.LayerNorm(width)
        self.attn_s = Attention(width, heads)
        self.norm_mlp = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(
        self, x: torch.Tensor, frames: int, hw: int, need_weights: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, _, d = x.shape
        cls, patches = x[:, :1], x[:, 1:]
        # temporal: every spatial position attends over frames
        xt = patches.reshape(b, frames, hw, d).transpose(1, 2).reshape(b * hw, frames, d)
        out_t, p_t = self.attn_t(self.norm_t(xt), need_weights)
        patches = patches + out_t.reshape(b, hw, frames, d).transpose(1, 2).reshape(b, frames * hw, d)
        # spatial: every frame's patches plus the (shared) CLS token
        xs = torch.cat([cls.expand(b, frames, d).reshape(b * frames, 1, d), patches.reshape(b * frames, hw, d)], 1)
        out_s, p_s = self.attn_s(self.norm_s(xs), need_weights)
        out_s = out_s.reshape(b, frames, hw + 1, d)
        cls = cls + out_s[:, :, :1].mean(dim=1)
        patches = patches + out_s[:, :, 1:].reshape(b, frames * hw, d)
        x = torch.cat([cls, patches], dim=1)
        x = x + self.mlp(self.norm_mlp(x))
        attn = []
        if need_weights:
            attn = [embed_temporal(p_t, b, frames, hw), embed_spatial(p_s, b, frames, hw)]
        return x, attn


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
                3,
                cfg.stem_channels,
                (cfg.stem_frames, 3, 3),
                stride=(1, cfg.stem_stride, cfg.stem_stride),
                padding=(cfg.stem_frames // 2, 1, 1),
            ),
            nn.GELU(),
        )
        inner = cfg.patch_size // cfg.stem_stride
        self.patchify = nn.Conv2d(cfg.stem_channels, cfg.width, inner, stride=inner)
        self.cls_token = nn.Parameter(torch.randn(1, 1, cfg.width) * 0.02)
        self.pos_space = nn.Parameter(torch.randn(1, cfg.grid * cfg.grid, cfg.width) * 0.02)
        self.pos_time = nn.Parameter(torch.randn(1, cfg.num_frames, 1, cfg.width) * 0.02)
        self.blocks = nn.ModuleList(DividedBlock(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.width)

    @property
    def token_layout(self) -> TokenLayout:
        g = self.cfg.grid
        return TokenLayout(num_prefix=1, frames=self.cfg.num_frames, height=g, width=g)

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
        """CLS feature ``(B, width)`` of a normalised clip batch, and (if asked) the embedded attentions."""
        self.check_input(video)
        b, t = video.shape[:2]
        x = self.stem(video.transpose(1, 2))  # (B, C, T, H', W')
        x = self.patchify(x.transpose(1, 2).flatten(0, 1))  # (B*T, D, g, g)
        hw = x.shape[-2] * x.shape[-1]
        x = x.flatten(2).transpose(1, 2).reshape(b, t, hw, -1)
        x = (x + self.pos_space.unsqueeze(1) + self.pos_time).reshape(b, t * hw, -1)
        x = torch.cat([self.cls_token.expand(b, 1, -1), x], dim=1)
        attentions: list[torch.Tensor] = []
        for block in self.blocks:
            x, attn = block(x, t, hw, need_weights)
            attentions.extend(attn)
        return self.norm(x[:, 0]), attentions

    def spatial_tokens_to_grid(self, a: torch.Tensor) -> torch.Tensor:
        """Map a spatial-attention input ``(B*T, 1+hw, D)`` to ``(B, D, T, h, w)``, CLS dropped."""
        g, t = self.cfg.grid, self.cfg.num_frames
        bt, _, d = a.shape
        return a[:, 1:].reshape(bt // t, t, g, g, d).permute(0, 4, 1, 2, 3)
