//go:build go1.20

package main

import "context"

// contextCause is context.Cause's text (Go 1.20+).
func contextCause(ctx context.Context) string {
	if err := context.Cause(ctx); err != nil {
		return err.Error()
	}
	return ""
}
