//go:build go1.20

package main

import (
	"context"
	"errors"
)

// contextCause is context.Cause's text (Go 1.20+).
func contextCause(ctx context.Context) string {
	if err := context.Cause(ctx); err != nil {
		return err.Error()
	}
	return ""
}

// contextCauseIsCanceled reports errors.Is(context.Cause(ctx), context.Canceled):
// from Go 1.26 a NotifyContext's signal cause is its own error type that
// says it is Canceled (its Is method).
func contextCauseIsCanceled(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), context.Canceled)
}
