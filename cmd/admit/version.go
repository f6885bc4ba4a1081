package main

import (
	"fmt"

	"github.com/admitdev/admit/buildinfo"
)

func cmdVersion(env *cmdEnv, args []string) error {
	if len(args) > 0 {
		return errUsage(fmt.Sprintf("version takes no arguments, got %q", args))
	}
	return printJSON(env.stdout, buildinfo.Get())
}
