"""The protocol module: the contracts every layer shares, in the core so every layer can import them.

- :mod:`rthooks.protocol.refs`: the ``$name.path`` reference syntax, parsed in one place.
- :mod:`rthooks.protocol.statuses`: the statuses of a case and of a step, and which fail a run.
- :mod:`rthooks.protocol.results`: what an implementation sends (observations), what one process
  did (:class:`RawRun`) and what the record keeps per case, as types.
- :mod:`rthooks.protocol.schemas`: the one loader of the JSON Schemas (spec, cases, protocol, record).
- :mod:`rthooks.protocol.record`: the one reader (schema-validated) and writer of run records.

The submodules are imported by name, not re-exported here: a command that needs only the
reference parser does not pay for jsonschema (start-up speed).
"""
