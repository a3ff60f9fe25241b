module rthooks.dev/driver

go 1.18
