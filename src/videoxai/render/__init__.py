"""videoxai.render: colour maps, overlays, browser-playable videos, attention-map strips, galleries, stats."""

from videoxai.render.colormap import COLORMAPS, apply_colormap, lut
from videoxai.render.gallery import write_gallery
from videoxai.render.overlay import overlay, upsample_maps
from videoxai.render.stage import render_clip
from videoxai.render.stats import aggregate_stats, spatial_entropy
from videoxai.render.video import encode_mp4

__all__ = [
    "COLORMAPS",
    "aggregate_stats",
    "apply_colormap",
    "encode_mp4",
    "lut",
    "overlay",
    "render_clip",
    "spatial_entropy",
    "upsample_maps",
    "write_gallery",
]
