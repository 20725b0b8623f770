"""The published bulletin (快报) as a Word document, laid out as a county bulletin is:
the masthead in large red type, 第 N 期, the issuing body and the date on one line, a
red rule, then the title and the body, the chart and the model cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.run import Run

RED = RGBColor(0xC0, 0x00, 0x00)
SONG = "宋体"
HEI = "黑体"
FANGSONG = "仿宋"


@dataclass(frozen=True)
class DocCase:
    title: str
    byline: str
    writeup: str


@dataclass(frozen=True)
class BulletinDoc:
    masthead: str  # 工作简报
    number_line: str  # 第 12 期
    issuer: str
    date_text: str
    title: str
    paragraphs: list[str]
    cases_head: str = ""
    cases: list[DocCase] = field(default_factory=list)
    chart: Path | None = None


def _font(run: Run, name: str, size: float, *, bold: bool = False, red: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.bold = bold
    if red:
        run.font.color.rgb = RED
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def _red_rule(paragraph: object) -> None:
    ppr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (
        ("w:val", "single"),
        ("w:sz", "18"),
        ("w:space", "1"),
        ("w:color", "C00000"),
    ):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)


def write_docx(doc_data: BulletinDoc, path: Path) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(head.add_run(doc_data.masthead), SONG, 48, bold=True, red=True)

    number = doc.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(number.add_run(doc_data.number_line), FANGSONG, 16)

    line = doc.add_paragraph()
    width = section.page_width - section.left_margin - section.right_margin
    line.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)
    _font(line.add_run(f"{doc_data.issuer}\t{doc_data.date_text}"), FANGSONG, 16)
    _red_rule(line)

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_before = Pt(18)
    _font(title.add_run(doc_data.title), SONG, 22, bold=True)

    for text in doc_data.paragraphs:
        if not text.strip():
            continue
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(32)
        _font(p.add_run(text), FANGSONG, 16)

    if doc_data.chart is not None and doc_data.chart.exists():
        doc.add_picture(str(doc_data.chart), width=Cm(15.5))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    if doc_data.cases:
        p = doc.add_paragraph()
        _font(p.add_run(doc_data.cases_head), HEI, 16)
        for case in doc_data.cases:
            p = doc.add_paragraph()
            _font(p.add_run(case.title), HEI, 16, bold=True)
            p = doc.add_paragraph()
            p.paragraph_format.first_line_indent = Pt(32)
            _font(p.add_run(f"{case.byline}{case.writeup}"), FANGSONG, 16)
    doc.save(str(path))
    return path
