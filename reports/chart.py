"""The office's chart: visits per team against the quota, and problems by status.

Chinese labels need a CJK font. The font is found by file (``find_cjk_font``): the
``FIELDBOT_CJK_FONT`` environment variable, then Debian's packages (fonts-wqy-microhei,
fonts-noto-cjk, fonts-wqy-zenhei, which ``.ci/system-packages`` installs), then the
Noto Sans CJK file shipped by the PyPI package ``manimgx-fonts-cjk`` (a dependency, so
``python3 dev.py run`` draws without apt). With none of them the chart is refused with
a clear log line, never drawn with empty boxes in place of the characters.

Matplotlib is used through its object API (no pyplot): charts are drawn in worker
threads, and pyplot's global state is not thread-safe.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from campaign.reporting import Summary

log = logging.getLogger(__name__)

Tr = Callable[..., str]
FONT_ENV = "FIELDBOT_CJK_FONT"
SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
PYPI_FONT = ("manimgx_fonts_cjk", "NotoSansCJK-VF.otf.ttc")


class NoCJKFont(RuntimeError):
    """No font that can draw Chinese was found."""


def _pypi_font() -> Path | None:
    package, name = PYPI_FONT
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def find_cjk_font(candidates: tuple[str, ...] | None = None) -> Path:
    """The first CJK font file present; raises NoCJKFont (after logging why) if none."""
    tried: list[str] = []
    env = os.environ.get(FONT_ENV, "").strip()
    paths = ([env] if env else []) + list(SYSTEM_FONTS if candidates is None else candidates)
    for raw in paths:
        tried.append(raw)
        if Path(raw).is_file():
            return Path(raw)
    if candidates is None:
        found = _pypi_font()
        if found is not None:
            return found
        tried.append(f"the {PYPI_FONT[0]} package")
    log.error(
        "no CJK font for charts: tried %s. Install the Debian package fonts-wqy-microhei "
        "(apt-get install fonts-wqy-microhei), or pip install manimgx-fonts-cjk, or set %s "
        "to a .ttf/.ttc/.otf file that has Chinese glyphs",
        ", ".join(tried),
        FONT_ENV,
    )
    raise NoCJKFont(", ".join(tried))


@dataclass(frozen=True)
class ChartInput:
    title: str
    summary: Summary  # rows: teams (county), groups (a team) or cadres (a group)


def draw_chart(data: ChartInput, t: Tr, font: Path | None = None) -> bytes:
    """A PNG: horizontal bars of visits per unit with the quota marked, and a bar per
    problem status."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = font or find_cjk_font()
    # Every text gets the font by file: no lookup by family name, no silent fallback.
    prop = font_manager.FontProperties(fname=str(path))
    rc = {"fontproperties": prop}

    s = data.summary
    rows = s.rows[:40]  # a readable chart; the workbook has them all
    height = max(4.5, 0.38 * len(rows) + 2.0)
    fig = Figure(figsize=(12, height), dpi=110)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    fig.suptitle(data.title, fontproperties=font_manager.FontProperties(fname=str(path), size=15))

    names = [r.unit.name for r in rows][::-1]
    visits = [r.visits for r in rows][::-1]
    targets = [r.target.visits for r in rows][::-1]
    bars = left.barh(names, visits, color="#4472C4")
    for y, target in enumerate(targets):
        if target > 0:
            left.plot([target, target], [y - 0.4, y + 0.4], color="#C00000", linewidth=2)
    for bar, value in zip(bars, visits, strict=True):
        left.text(
            bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value}", va="center", **rc
        )
    left.set_title(t(f"reports.chart.visits_title_{s.rows_kind}"), **rc)
    left.set_xlabel(t("reports.chart.visits_axis"), **rc)
    left.margins(x=0.15)
    for label in left.get_yticklabels():
        label.set_fontproperties(prop)

    in_hand = sum(lv.open for lv in s.levels)
    labels = [
        t("reports.chart.in_hand"),
        t("reports.chart.overdue"),
        t("reports.status.solved"),
        t("reports.status.explained"),
    ]
    values = [in_hand, s.total.overdue, s.total.solved, s.total.explained]
    colors = ["#ED7D31", "#C00000", "#70AD47", "#A5A5A5"]
    pbars = right.bar(labels, values, color=colors)
    for bar, value in zip(pbars, values, strict=True):
        right.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height(),
            str(value),
            ha="center",
            va="bottom",
            **rc,
        )
    right.set_title(
        t("reports.chart.problems_title"),
        fontproperties=font_manager.FontProperties(fname=str(path), size=10),
    )
    right.set_ylabel(t("reports.chart.problems_axis"), **rc)
    right.margins(y=0.15)
    for label in right.get_xticklabels():
        label.set_fontproperties(prop)

    fig.tight_layout()
    out = BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
