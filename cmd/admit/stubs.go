package main

import (
	"context"
	"errors"
)

// Commands whose dialects are still being built.

func cmdBench(ctx context.Context, env *cmdEnv, args []string) error {
	return errors.New("bench: not available yet")
}
