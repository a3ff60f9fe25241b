"""rthooks.harness (filled in by later issues)."""
