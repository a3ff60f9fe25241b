"""rthooks.oracle: the Python reference model of the spec's semantics.

An implementation like any other: it reads a protocol program and yields the
same RawRun a process would. This first version models the GC and scheduler
settings, their environment variables, the metrics that mirror them, and
process termination (os.Exit, unrecovered panics); everything else answers
`unsupported`, which the harness reports as a skip (issue 4 fills it in).
"""
