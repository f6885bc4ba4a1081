package main

import (
	"context"
	"fmt"
)

// cmdAPIKeyCreate: admit apikey create --organizer SLUG --name NAME → {"key": ...},
// an organizer's management key for the TickeTing API (X-API-Key), shown
// once and stored hashed.
func cmdAPIKeyCreate(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("apikey create", env)
	db := dbFlag(fs, env)
	org := fs.String("organizer", "", "organizer slug")
	name := fs.String("name", "", "key name (what the key is for)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage(fmt.Sprintf("apikey create takes no arguments, got %q", pos))
	}
	if err := requireFlag("organizer", *org); err != nil {
		return err
	}
	if err := requireFlag("name", *name); err != nil {
		return err
	}
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	key, err := core.CreateManagementKey(ctx, *org, *name)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, map[string]string{"key": key})
}
