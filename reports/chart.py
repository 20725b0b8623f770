"""The office's chart: visits per team against the quota, and problems by status.

Chinese labels need a CJK font, chosen by family name (``find_cjk_font``), Simplified
Chinese faces in a regular weight first: Noto Sans CJK SC / Source Han Sans SC (Debian's
fonts-noto-cjk, which ``.ci/system-packages`` installs), WenQuanYi Micro Hei (Debian's
fonts-wqy-microhei), then what Windows (Microsoft YaHei, SimHei) and macOS (PingFang SC)
office PCs have. By name, not by file: a .ttc holds the Japanese, Korean and Chinese
faces of one design, and only the SC face draws 关, 直, 骨 as a Chinese reader expects.
``FIELDBOT_CJK_FONT`` names another family, or a font file. With none of them the chart
is refused with a log line saying what to install, never drawn with empty boxes.

Matplotlib is used through its object API (no pyplot): charts are drawn in worker
threads, and pyplot's global state is not thread-safe.
"""

from __future__ import annotations

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
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)


class NoCJKFont(RuntimeError):
    """No font that can draw Chinese was found."""


@dataclass(frozen=True)
class CJKFont:
    family: str
    path: Path


_rescanned = False


def _add_new_system_fonts() -> None:
    """Matplotlib caches the fonts it saw at its first run; a font installed since (apt
    after a first chart) is added once, so the bot needs no restart and no cache wipe."""
    global _rescanned
    if _rescanned:
        return
    _rescanned = True
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # a broken font file is not our concern


def _installed(family: str) -> CJKFont | None:
    """The regular face of ``family`` if matplotlib knows it (no fallback to another)."""
    found = _known(family)
    if found is None:
        _add_new_system_fonts()
        found = _known(family)
    return found


def _known(family: str) -> CJKFont | None:
    from matplotlib import font_manager

    prop = font_manager.FontProperties(family=family, weight="regular", style="normal")
    try:
        found = font_manager.findfont(prop, fallback_to_default=False, rebuild_if_missing=True)
    except ValueError:
        return None
    entry = next((f for f in font_manager.fontManager.ttflist if f.fname == str(found)), None)
    if entry is None:
        return None
    names = {f.name for f in font_manager.fontManager.ttflist if f.fname == entry.fname}
    return CJKFont(family, Path(str(found))) if family in names else None


def _from_env(raw: str) -> CJKFont | None:
    from matplotlib import font_manager

    if Path(raw).is_file():
        font_manager.fontManager.addfont(raw)
        name = font_manager.FontProperties(fname=raw).get_name()
        return CJKFont(name, Path(raw))
    return _installed(raw)


def find_cjk_font(families: tuple[str, ...] | None = None) -> CJKFont:
    """The first CJK family installed; raises NoCJKFont (after logging why) if none."""
    env = os.environ.get(FONT_ENV, "").strip()
    if env:
        font = _from_env(env)
        if font is not None:
            return font
        log.warning("%s=%s is neither a font file nor an installed family", FONT_ENV, env)
    tried = families if families is not None else CJK_FAMILIES
    for family in tried:
        font = _installed(family)
        if font is not None:
            return font
    log.error(
        "no CJK font for charts: none of %s is installed. On Debian or Ubuntu: apt-get "
        "install fonts-noto-cjk (or fonts-wqy-microhei); or set %s to a .ttf/.ttc/.otf "
        "file or family name that has Simplified Chinese glyphs",
        ", ".join(tried),
        FONT_ENV,
    )
    raise NoCJKFont(", ".join(tried))


@dataclass(frozen=True)
class ChartInput:
    title: str
    summary: Summary  # rows: teams (county), groups (a team) or cadres (a group)


def draw_chart(data: ChartInput, t: Tr, font: CJKFont | None = None) -> bytes:
    """A PNG: horizontal bars of visits per unit with the quota marked, and the problems:
    in hand (its overdue part stacked on top, overdue being part of in hand), solved,
    explained. Counts get whole-number ticks."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    chosen = font or find_cjk_font()

    def face(size: float | None = None) -> font_manager.FontProperties:
        return font_manager.FontProperties(family=chosen.family, weight="regular", size=size)

    prop = face()
    rc = {"fontproperties": prop}

    s = data.summary
    rows = s.rows[:40]  # a readable chart; the workbook has them all
    height = max(4.5, 0.38 * len(rows) + 2.0)
    fig = Figure(figsize=(12, height), dpi=110)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    fig.suptitle(data.title, fontproperties=face(15))

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
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.margins(x=0.15)
    for label in [*left.get_yticklabels(), *left.get_xticklabels()]:
        label.set_fontproperties(prop)

    in_hand = sum(lv.open for lv in s.levels)
    overdue = min(s.total.overdue, in_hand)
    labels = [
        t("reports.chart.in_hand"),
        t("reports.status.solved"),
        t("reports.status.explained"),
    ]
    # 在办 = on time + overdue: one bar, its overdue part in red on top.
    on_time = [in_hand - overdue, s.total.solved, s.total.explained]
    right.bar(labels, on_time, color=["#ED7D31", "#70AD47", "#A5A5A5"])
    right.bar(
        labels[:1], [overdue], bottom=on_time[:1], color="#C00000", label=t("reports.chart.overdue")
    )
    totals = [in_hand, s.total.solved, s.total.explained]
    for x, value in enumerate(totals):
        right.text(x, value, str(value), ha="center", va="bottom", **rc)
    if overdue:
        right.text(
            0, in_hand - overdue / 2, str(overdue), ha="center", va="center", color="white", **rc
        )
    right.legend(prop=prop, loc="upper right")
    right.set_title(t("reports.chart.problems_title"), fontproperties=face(10))
    right.set_ylabel(t("reports.chart.problems_axis"), **rc)
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.margins(y=0.15)
    for label in [*right.get_xticklabels(), *right.get_yticklabels()]:
        label.set_fontproperties(prop)

    fig.tight_layout()
    out = BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
