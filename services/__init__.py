"""The use cases: one module per family (problems, visits, people, reports, ...).

A service reads through ``storage/``, judges once with the rules in ``campaign/``, writes,
renders with the catalogue and queues what the change causes, in one transaction, and
returns an outcome value saying what happened (and, when nothing did, why). ``handlers/``
and ``scheduler/`` call services; they never import ``storage/``.
"""
