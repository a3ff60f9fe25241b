//go:build !go1.20

package main

import (
	"context"
	"errors"
)

// contextCause: before Go 1.20 there is no cause; Err is the closest.
func contextCause(ctx context.Context) string {
	if err := ctx.Err(); err != nil {
		return err.Error()
	}
	return ""
}

// contextCauseIsCanceled: before Go 1.20 there is no cause; Err is the closest.
func contextCauseIsCanceled(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}
