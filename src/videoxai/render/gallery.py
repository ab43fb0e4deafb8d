"""A small HTML page that plays a folder's heatmap videos, for a browser or the Snakemake report."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path

from videoxai.io import write_text

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; background: #fafafa; color: #222; }
.grid { display: flex; flex-wrap: wrap; gap: 1.2em; }
figure { margin: 0; padding: .6em; background: #fff; border: 1px solid #ddd; border-radius: 6px; max-width: 480px; }
figure video, figure img { display: block; max-width: 100%; }
figcaption { font-size: .85em; margin-top: .4em; word-break: break-all; }
"""


def _src(path: Path, out_dir: Path, embed: bool, mime: str) -> str:
    if embed:
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix()


def write_gallery(
    out_html: str | os.PathLike[str],
    videos: Sequence[str | os.PathLike[str]],
    pngs: Sequence[str | os.PathLike[str]],
    title: str,
    embed: bool = False,
) -> None:
    """Write a page with one card per video (and the PNG of the same name below it), atomically.

    Links are relative to the page, so the folder can move as a whole. ``embed=True`` inlines every
    file as a data URI instead: the page then stands alone (e.g. inside ``snakemake --report`` output).
    """
    out = Path(out_html)
    out_dir = out.parent
    missing = [str(p) for p in [*videos, *pngs] if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"gallery {out}: these files do not exist: {', '.join(missing)}")
    by_stem = {Path(p).stem: Path(p) for p in pngs}
    cards = []
    for v in sorted(map(Path, videos)):
        src = html.escape(_src(v, out_dir, embed, "video/mp4"), quote=True)
        parts = [f'<video controls muted loop playsinline preload="metadata" src="{src}"></video>']
        png = by_stem.pop(v.stem, None)
        if png is not None:
            img = html.escape(_src(png, out_dir, embed, "image/png"), quote=True)
            parts.append(f'<img loading="lazy" alt="{html.escape(png.stem)}" src="{img}">')
        parts.append(f"<figcaption>{html.escape(v.stem)}</figcaption>")
        cards.append("<figure>" + "".join(parts) + "</figure>")
    for png in sorted(by_stem.values()):
        img = html.escape(_src(png, out_dir, embed, "image/png"), quote=True)
        cards.append(
            f'<figure><img loading="lazy" alt="{html.escape(png.stem)}" src="{img}">'
            f"<figcaption>{html.escape(png.stem)}</figcaption></figure>"
        )
    t = html.escape(title)
    page = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{t}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n"
        f'<p>{len(videos)} videos, {len(pngs)} attention maps.</p>\n<div class="grid">\n'
        + "\n".join(cards)
        + "\n</div>\n</body>\n</html>\n"
    )
    write_text(out, page)
