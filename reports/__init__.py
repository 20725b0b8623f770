"""The office's reports as something a person reads: chat text, an Excel workbook, a chart.

Builders here take the values of ``campaign.reporting`` and ``storage.reports`` rows and
import neither telegram nor a database driver; ``reports.service`` is the one module
that opens a reading connection and runs a whole report, for the bot's worker thread
and for the command line alike. This package sits between ``handlers``/``bot`` above
and ``campaign``/``storage`` below.
"""
