"""rthooks.reports (filled in by later issues)."""
