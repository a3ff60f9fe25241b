"""The rthooks spec: YAML data (this folder) and the code that loads, lints, queries
and checks it against real toolchains."""
