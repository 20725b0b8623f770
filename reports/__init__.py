"""The office's reports as something a person reads: chat text, an Excel workbook, a chart.

Builders here take the values of ``campaign.reporting`` and ``storage.reports`` rows and
import neither telegram nor a database driver; ``services.reports`` is the use case
that opens a reading connection and runs a whole report, for the bot's worker thread
and for the command line alike. This package sits on the floor of ``campaign``:
``services`` and ``bot`` use it; it reads nothing by itself.
"""
