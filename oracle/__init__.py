"""rthooks.oracle (filled in by later issues)."""
