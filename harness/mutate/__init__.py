"""The mutation kit: a catalogue of edits of a real Go toolchain's source, each naming the spec
clauses it breaks, and a runner that records which cases kill each mutant (``rthooks mutate``).

Coverage says a clause has a case; a kill says the case would notice the clause broken. The
public surface is small: load the catalogue, run mutants, read a kill record, fold kill records
into clause coverage.
"""

from rthooks.harness.mutate.catalogue import Edit, Mutant, catalogue_root, load_catalogue, problems_in, select
from rthooks.harness.mutate.kills import failed, read, run_mutants, summary
from rthooks.harness.mutate.report import clause_kills, render_kills

__all__ = [
    "Edit",
    "Mutant",
    "catalogue_root",
    "clause_kills",
    "failed",
    "load_catalogue",
    "problems_in",
    "read",
    "render_kills",
    "run_mutants",
    "select",
    "summary",
]
