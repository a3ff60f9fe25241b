"""rthooks: the conformance suite and spec oracle for Go's runtime hooks."""

__version__ = "0.1.0"
