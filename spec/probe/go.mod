module rthooks.dev/probe

go 1.18
