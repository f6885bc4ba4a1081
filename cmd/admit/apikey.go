package main

import (
	"context"
	"fmt"

	"github.com/admitdev/admit"
)

// cmdAPIKeyCreate: admit apikey create --organizer SLUG --name NAME
// [--role admin|scanner] → {"key": ..., "role": ...}, an organizer's key,
// shown once and stored hashed. An admin key is the organizer's management
// key: admit's own API (Bearer) and the TickeTing API (X-API-Key) take it;
// a scanner key may only scan, check, search and read occupancy on admit's
// own API.
func cmdAPIKeyCreate(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("apikey create", env)
	db := dbFlag(fs, env)
	org := fs.String("organizer", "", "organizer slug")
	name := fs.String("name", "", "key name (what the key is for)")
	role := fs.String("role", "admin", "admin (everything for the organizer) or scanner (scan, check, search, occupancy)")
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
	if *role != string(admit.RoleAdmin) && *role != string(admit.RoleScanner) {
		return errUsage(fmt.Sprintf("--role must be admin or scanner, not %q", *role))
	}
	key, err := core.CreateOrganizerKey(ctx, *org, *name, admit.Role(*role))
	if err != nil {
		return err
	}
	return printJSON(env.stdout, map[string]string{"key": key, "role": *role})
}
