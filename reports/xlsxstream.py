"""A small streaming XLSX writer: rows go straight into the zip, nothing is kept.

Why not openpyxl: its write-only mode keeps memory flat, but it spends about 7 µs on
every cell (a year's export is some five million cells: over 30 s on this machine,
against a 15 s target). This writer formats SpreadsheetML by hand, about ten times
faster, and supports only what the office workbook needs: text, numbers, dates and
times as real date cells, a bold header with a fill, a title row, frozen header rows,
column widths, a few number formats, and what a clerk needs to print: an autofilter on
the table, landscape pages fitted to the width, header rows repeated on every page.
The tests read its files back with openpyxl.
"""

from __future__ import annotations

import operator
import queue
import re
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, cast
from xml.sax.saxutils import escape, quoteattr

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A text cell needs work only when it holds one of these: XML's three, or an illegal one.
_NEEDS_WORK = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ROWS_PER_WRITE = 256  # rows joined per write into the zip
_QUEUED = 8  # batches waiting for the writer thread
_EPOCH = date(1899, 12, 30)
EPOCH_ORDINAL = _EPOCH.toordinal()

# Number formats beyond the built-in ones (ids from 164 up are custom).
_CUSTOM_FORMATS = {164: "yyyy-mm-dd", 165: "yyyy-mm-dd hh:mm", 166: "0.0"}
# Number format ids by name: "general", built-in 1 ("0"), 9 ("0%"), customs above.
FORMATS = {"general": 0, "0": 1, "0%": 9, "date": 164, "datetime": 165, "0.0": 166}
# Cell styles: index = position. (number format id, bold, fill, title)
_XFS: list[tuple[int, bool, bool, bool]] = []
STYLE: dict[tuple[str, bool], int] = {}
for _name, _fmt in FORMATS.items():
    for _bold in (False, True):
        STYLE[(_name, _bold)] = len(_XFS)
        _XFS.append((_fmt, _bold, False, False))
HEADER = len(_XFS)
_XFS.append((0, True, True, False))
TITLE = len(_XFS)
_XFS.append((0, True, False, True))

MAX_ROWS = 1_048_576  # Excel's limit per sheet; writers split a longer table
LEVEL = 3  # zlib's level for every part (see StreamingWorkbook)

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


# A row shape's plan: its format string, a getter of its text cells (None: no text),
# the cells to convert (serial dates, 0/1 for booleans), and the text cells' positions.
_Plan = tuple[
    Callable[..., str],
    Callable[[Sequence[Any]], Any] | None,
    list[tuple[int, Callable[[Any], Any]]],
    tuple[int, ...],
]


_FIELD = re.compile(r"\{(\d+)\}")


def _compiled(template: str, arity: int) -> Callable[..., str]:
    """``template.format`` as a compiled function: ``{0}`` is the row number, ``{i}``
    the i-th value. ``str.format`` parses its template on every call; an f-string is
    parsed once, and a row of a year's export is written in a third of the time."""
    pieces = []
    at = 0
    for m in _FIELD.finditer(template):
        if m.start() > at:
            pieces.append(repr(template[at : m.start()]))
        n = int(m.group(1))
        pieces.append(f"f'{{a{n}}}'")
        at = m.end()
    if at < len(template):
        pieces.append(repr(template[at:]))
    names = ", ".join(f"a{i}" for i in range(arity + 1))
    code = f"def row({names}):\n    return " + (" ".join(pieces) or "''") + "\n"
    space: dict[str, Any] = {}
    exec(code, space)  # noqa: S102  (our own template: markup, positions, no input)
    return cast(Callable[..., str], space["row"])


def column_letter(n: int) -> str:
    """Excel's name of the n-th column (1: A, 27: AA), as openpyxl's
    ``get_column_letter`` (not imported: openpyxl costs a third of a second to import,
    paid again by every export's second process)."""
    letters = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)`` (zlib's
    ``crc32_combine``, which Python does not expose): appending ``len2`` zero bytes to
    ``a`` is a linear map on its CRC, applied by squaring the one-zero-bit operator."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # the next power of two, in bytes
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


@dataclass(frozen=True)
class Piece:
    """Part of a sheet's rows written elsewhere (another process): raw deflate data
    ending on a byte boundary (a sync flush, no final block), the CRC-32 and length of
    the XML it holds, and how many rows."""

    path: str
    crc: int
    size: int
    rows: int


class Deflated:
    """A file-like sink that compresses what it is given into ``out`` as raw deflate
    data, keeping the CRC-32 and length of the uncompressed bytes.

    ``close`` ends the stream with the final block (``final=True``: a zip member's
    whole data) or with a sync flush (a piece another stream will take in). A piece is
    taken in by ``splice``: everything so far is flushed with Z_FULL_FLUSH (byte
    aligned, and nothing after refers back to it), the piece's bytes are copied as they
    are, and the CRC-32 of the whole is combined from both (what pigz does)."""

    def __init__(self, out: IO[bytes], level: int = LEVEL, *, final: bool = True) -> None:
        self.out = out
        self.final = final
        self.crc = 0
        self.size = 0
        self.written = 0
        self._zip = zlib.compressobj(level, zlib.DEFLATED, -15)

    def write(self, data: bytes) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self._put(self._zip.compress(data))
        return len(data)

    def _put(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.written += len(data)

    def splice(self, piece: Piece) -> None:
        self._put(self._zip.flush(zlib.Z_FULL_FLUSH))
        with open(piece.path, "rb") as src:
            while chunk := src.read(1 << 20):
                self._put(chunk)
        self.crc = crc32_combine(self.crc, piece.crc, piece.size)
        self.size += piece.size

    def close(self) -> None:
        self._put(self._zip.flush(zlib.Z_FINISH if self.final else zlib.Z_SYNC_FLUSH))
        self.out.flush()


class _Raw:
    """Stands for zipfile's compressor on a member whose data is deflated already."""

    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


def _raw_member(zf: zipfile.ZipFile, name: str, data: IO[bytes], crc: int, size: int) -> None:
    """A zip member from deflate data made elsewhere (``Deflated``): zipfile has no
    public way in, so its writer is given a compressor that passes the bytes through,
    then the CRC-32 and length of the uncompressed data (a test reads the member back
    and checks its CRC, should zipfile change)."""
    handle = zf.open(name, "w", force_zip64=True)
    writer = cast(Any, handle)
    writer._compressor = _Raw()
    shutil.copyfileobj(data, handle, 1 << 20)
    writer._crc, writer._file_size = crc, size
    handle.close()


def _serial_date(d: date) -> int:
    """Excel's serial day number."""
    return d.toordinal() - EPOCH_ORDINAL


def serial_datetime(d: datetime) -> float:
    """Excel's serial number of a wall time (seconds; a fraction of a second is dropped)."""
    return d.toordinal() - EPOCH_ORDINAL + (d.hour * 3600 + d.minute * 60 + d.second) / 86400


def _number_text(v: Any) -> str:
    """Any other value (a Decimal, an IntEnum) as the number it stands for."""
    return escape(_ILLEGAL.sub("", str(v)))


def _style_attr(style: int) -> str:
    return f' s="{style}"' if style else ""


def clean(text: str) -> str:
    """Characters XML 1.0 cannot hold are dropped."""
    return _ILLEGAL.sub("", text)


def _styles_xml() -> str:
    fmts = "".join(
        f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>'
        for i, code in _CUSTOM_FORMATS.items()
    )
    fonts = (
        '<font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="13"/><name val="Calibri"/></font>'
    )
    fills = (
        '<fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/>'
        '<bgColor indexed="64"/></patternFill></fill>'
    )
    xfs = []
    for fmt, bold, fill, title in _XFS:
        font = 2 if title else (1 if bold else 0)
        attrs = f'numFmtId="{fmt}" fontId="{font}" fillId="{2 if fill else 0}" borderId="0"'
        attrs += ' xfId="0" applyNumberFormat="1"' if fmt else ' xfId="0"'
        if bold or title:
            attrs += ' applyFont="1"'
        if fill:
            xfs.append(
                f'<xf {attrs} applyFill="1" applyAlignment="1">'
                '<alignment vertical="top" wrapText="1"/></xf>'
            )
        else:
            xfs.append(f"<xf {attrs}/>")
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {_NS}>'
        f'<numFmts count="{len(_CUSTOM_FORMATS)}">{fmts}</numFmts>'
        f'<fonts count="3">{fonts}</fonts><fills count="3">{fills}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


class _Writer:
    """Writes a sheet's bytes into its zip entry from a thread of its own.

    Compressing is a third of a year's export, and zlib lets go of the interpreter lock
    while it works: with a second core, the rows of the next batch are formatted while
    the last one is compressed. At most ``_QUEUED`` batches wait (memory stays flat). An
    error in the thread (a full disk) is raised in the caller at the next write or at
    ``finish``."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._queue: queue.Queue[bytes | None] = queue.Queue(_QUEUED)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="xlsx-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._stream.write(chunk)
                except BaseException as e:  # handed to the caller, the queue kept draining
                    self._error = e

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def drain(self) -> None:
        """Everything written; the thread ends, the entry stays open."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Everything written, then the entry closed (in the caller's thread)."""
        self.drain()
        self._stream.close()


class Sheet:
    """One worksheet being written. Rows are appended in order; formats are per column.

    Every sheet prints landscape, fitted to one page wide (as many pages tall as it
    takes). ``filter_from(row)`` puts the autofilter on the table whose header is that
    row; ``repeat_rows`` are printed at the top of every page.

    A ``fragment`` is rows only, numbered from ``first_row + 1``, for another process to
    ``splice`` into its sheet (no head, no tail; ``stream`` a ``Deflated``)."""

    def __init__(
        self,
        stream: IO[bytes] | Deflated,
        widths: Sequence[float],
        freeze_rows: int,
        columns: int,
        repeat_rows: int = 0,
        *,
        fragment: bool = False,
        first_row: int = 0,
    ) -> None:
        self._stream = stream
        self._out = _Writer(cast(IO[bytes], stream))
        self._row = first_row
        self._fragment = fragment
        self._width = max(columns, len(widths), 1)
        self._letters = [column_letter(i + 1) for i in range(self._width + 8)]
        self._pending: list[str] = []
        self._plans: dict[tuple[tuple[type, ...], bool, int | None], _Plan] = {}
        self.formats = []
        self.repeat_rows = repeat_rows
        self.filter_row = 0
        self.filter_width = self._width
        head = [
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_RNS}>'
        ]
        head.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
        head.append('<sheetViews><sheetView workbookViewId="0">')
        if freeze_rows:
            cell = f"A{freeze_rows + 1}"
            head.append(
                f'<pane ySplit="{freeze_rows}" topLeftCell="{cell}" activePane="bottomLeft"'
                f' state="frozen"/><selection pane="bottomLeft" activeCell="{cell}"'
                f' sqref="{cell}"/>'
            )
        head.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
        if widths:
            head.append("<cols>")
            head += [
                f'<col min="{i}" max="{i}" width="{w:.2f}" customWidth="1"/>'
                for i, w in enumerate(widths, start=1)
            ]
            head.append("</cols>")
        head.append("<sheetData>")
        if not fragment:
            self._write("".join(head))

    def _write(self, text: str) -> None:
        self._out.write(text.encode("utf-8"))

    def _flush(self) -> None:
        if self._pending:
            self._write("".join(self._pending))
            self._pending = []

    @property
    def formats(self) -> list[str]:
        """Number format names of the columns, by position ("general" past the end)."""
        return self._formats

    @formats.setter
    def formats(self, names: list[str]) -> None:
        self._formats = list(names)
        self._plans = {}

    @property
    def rows(self) -> int:
        """Rows written so far (the next row is ``rows + 1``)."""
        return self._row

    def filter_from(self, header_row: int, width: int | None = None) -> None:
        """The autofilter covers the table from ``header_row`` to the last row."""
        self.filter_row = header_row
        self.filter_width = width or self._width

    @property
    def filter_ref(self) -> str | None:
        if not self.filter_row:
            return None
        last = self._letters[self.filter_width - 1]
        return f"$A${self.filter_row}:${last}${max(self._row, self.filter_row)}"

    def append(
        self, values: Sequence[Any], *, bold: bool = False, style: int | None = None
    ) -> None:
        """A row; ``style`` forces one cell style (header, title) on every cell.

        This runs for every row of a year's export (millions of cells), so it is written
        for speed. Rows of one sheet have few shapes (which columns hold text, numbers,
        dates or nothing): each shape is turned once into a compiled f-string function
        with the cell references and styles in it, and a row is one call. Text is escaped
        only when it holds a character that needs it (one search over the row's texts),
        and rows reach the zip in batches, compressed in a thread of their own."""
        self._row += 1
        shape = (tuple(map(type, values)), bold, style)
        plan = self._plans.get(shape)
        if plan is None:
            plan = self._plans[shape] = self._plan(shape[0], bold, style)
        fmt, texts, converts, _ = plan
        args: Any = values
        if texts is not None:
            picked = texts(values)
            if len(plan[3]) == 1:
                picked = (picked,)
            if "" in picked:  # an empty text is no cell at all, as None
                self._row -= 1
                self.append([None if v == "" else v for v in values], bold=bold, style=style)
                return
            if _NEEDS_WORK.search("\n".join(picked)) is not None:
                args = list(values)
                for i in plan[3]:
                    if _NEEDS_WORK.search(args[i]) is not None:
                        args[i] = escape(_ILLEGAL.sub("", args[i]))
        if converts:
            if args is values:
                args = list(values)
            for i, convert in converts:
                args[i] = convert(args[i])
        self._pending.append(fmt(str(self._row), *args))
        if len(self._pending) >= _ROWS_PER_WRITE:
            self._flush()

    def _plan(self, types: tuple[type, ...], bold: bool, style: int | None) -> _Plan:
        """The format string of one row shape, and which cells need work at run time."""
        letters = self._letters
        text_style = _style_attr(style if style is not None else STYLE[("general", True)] * bold)
        parts = ['<row r="{0}">']
        text_at: list[int] = []
        converts: list[tuple[int, Callable[[Any], Any]]] = []
        for i, kind in enumerate(types):
            ref = f'r="{letters[i]}{{0}}"'
            arg = f"{{{i + 1}}}"
            if kind is type(None):
                continue
            if issubclass(kind, str):
                text_at.append(i)
                if kind is not str:
                    converts.append((i, str))
                parts.append(
                    f'<c {ref}{text_style} t="inlineStr"><is><t xml:space="preserve">{arg}</t>'
                    "</is></c>"
                )
                continue
            if issubclass(kind, datetime):
                name = "datetime"
                converts.append((i, serial_datetime))
            elif issubclass(kind, date):
                name = "date"
                converts.append((i, _serial_date))
            else:
                name = self._formats[i] if i < len(self._formats) else "general"
                if kind is bool:
                    converts.append((i, int))
                elif kind is not int and kind is not float:
                    converts.append((i, _number_text))
            s = style if style is not None else STYLE[(name, bold)]
            parts.append(f"<c {ref}{_style_attr(s)}><v>{arg}</v></c>")
        parts.append("</row>")
        fmt = _compiled("".join(parts), len(types))
        texts = operator.itemgetter(*text_at) if text_at else None
        return fmt, texts, converts, tuple(text_at)

    def splice(self, piece: Piece) -> None:
        """The rows of ``piece`` (made by a ``fragment`` numbered from here) come next."""
        if not isinstance(self._stream, Deflated):
            raise TypeError("only a sheet set aside (StreamingWorkbook.sheet) takes pieces")
        self._flush()
        self._out.drain()
        self._stream.splice(piece)
        self._row += piece.rows
        self._out = _Writer(cast(IO[bytes], self._stream))

    def close(self) -> None:
        self._flush()
        if self._fragment:
            self._out.finish()
            return
        tail = ["</sheetData>"]
        if self.filter_ref:
            tail.append(f'<autoFilter ref="{self.filter_ref.replace("$", "")}"/>')
        tail.append(
            '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.5" header="0.3"'
            ' footer="0.3"/><pageSetup paperSize="9" orientation="landscape" fitToWidth="1"'
            ' fitToHeight="0"/><headerFooter><oddFooter>&amp;C&amp;P / &amp;N</oddFooter>'
            "</headerFooter></worksheet>"
        )
        self._write("".join(tail))
        self._out.finish()


class StreamingWorkbook:
    """``with StreamingWorkbook(fileobj) as wb:`` then ``wb.sheet(...)`` one at a time."""

    def __init__(self, out: IO[bytes], compresslevel: int = LEVEL) -> None:
        # A year's workbook (218 MB of XML): 29 MB at level 3, 26 MB at 4; level 3 is
        # zlib's last fast level, 4 and up search harder and cost 0.8 s more (a sixth of
        # the writing). Bots may send files up to 50 MB.
        self._zip = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._level = compresslevel
        self._titles: list[str] = []
        self._sheets: list[Sheet] = []
        self._current: Sheet | None = None
        # Sheets set aside: (member name, sheet, its compressed data so far).
        self._aside: list[tuple[str, Sheet, Deflated]] = []

    def __enter__(self) -> StreamingWorkbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sheet(
        self,
        title: str,
        widths: Sequence[float] = (),
        freeze_rows: int = 0,
        columns: int = 0,
        repeat_rows: int | None = None,
        *,
        aside: bool = False,
    ) -> Sheet:
        """A new sheet; the frozen rows are also the rows printed atop every page
        unless ``repeat_rows`` says otherwise.

        ``aside``: the sheet stays open while the next ones are written (its compressed
        bytes wait in a temporary file), so pieces made meanwhile by another process can
        be ``splice``d into it; it goes into the zip when the workbook is closed."""
        if self._current is not None:
            self._current.close()
            self._current = None
        self._titles.append(title)
        n = len(self._titles)
        name = f"xl/worksheets/sheet{n}.xml"
        repeat = freeze_rows if repeat_rows is None else repeat_rows
        if aside:
            spool = Deflated(tempfile.TemporaryFile(), self._level)
            sheet = Sheet(spool, widths, freeze_rows, columns, repeat)
            self._aside.append((name, sheet, spool))
        else:
            stream = self._zip.open(name, "w", force_zip64=True)
            sheet = self._current = Sheet(stream, widths, freeze_rows, columns, repeat)
        self._sheets.append(sheet)
        return sheet

    def _defined_names(self) -> str:
        """Print titles and the autofilter's range, as Excel itself records them."""
        names = []
        for i, (title, sheet) in enumerate(zip(self._titles, self._sheets, strict=True)):
            quoted = "'" + clean(title).replace("'", "''") + "'"
            if sheet.filter_ref:
                names.append(
                    f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                    f"{escape(quoted)}!{sheet.filter_ref}</definedName>"
                )
            if sheet.repeat_rows:
                names.append(
                    f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                    f"{escape(quoted)}!$1:${sheet.repeat_rows}</definedName>"
                )
        return f"<definedNames>{''.join(names)}</definedNames>" if names else ""

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        if self._zip.fp is None:
            return
        while self._aside:
            name, sheet, spool = self._aside.pop(0)
            try:
                sheet.close()
                spool.out.seek(0)
                _raw_member(self._zip, name, spool.out, spool.crc, spool.size)
            finally:
                spool.out.close()
        n = len(self._titles)
        z = self._zip
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, n + 1)
            )
            + "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        sheets = "".join(
            f'<sheet name={quoteattr(clean(t))} sheetId="{i}" r:id="rId{i}"/>'
            for i, t in enumerate(self._titles, start=1)
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS} {_RNS}>'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
            f"{self._defined_names()}</workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
            f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        rels += (
            f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}</Relationships>",
        )
        z.writestr("xl/styles.xml", _styles_xml())
        z.close()


def fragment(out: IO[bytes], columns: int, formats: Sequence[str], first_row: int) -> Sheet:
    """Rows only, numbered from ``first_row + 1``, deflated into ``out`` for a sheet set
    aside in another process to splice: the same cells as that sheet's ``append`` with
    these column ``formats``. ``close`` it, then hand over ``out``'s path with
    ``piece_of``."""
    sheet = Sheet(Deflated(out, final=False), (), 0, columns, fragment=True, first_row=first_row)
    sheet.formats = list(formats)
    return sheet


def piece_of(sheet: Sheet, path: str, first_row: int) -> Piece:
    """What a closed ``fragment`` holds, for the process that splices it."""
    stream = sheet._stream
    if not isinstance(stream, Deflated):
        raise TypeError("not a fragment")
    return Piece(path, stream.crc, stream.size, sheet.rows - first_row)
