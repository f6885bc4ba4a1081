package main

import (
	"context"
	"fmt"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/api"
)

func cmdDeviceCreate(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("device create", env)
	db := dbFlag(fs, env)
	org := fs.String("organizer", "", "organizer slug")
	name := fs.String("name", "", "device name")
	event := fs.String("event", "", "bind the device to this event (slug)")
	list := fs.String("list", "", "bind the device to this check-in list (name; needs --event)")
	pub := fs.String("public-url", "", "public base URL for pair_url (env ADMIT_PUBLIC_URL)")
	defTTL, err := pairingTTLDefault(env)
	if err != nil {
		return err
	}
	ttl := fs.Duration("pairing-ttl", defTTL, "how long the pairing token stays valid (env ADMIT_PAIRING_TTL)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *ttl <= 0 {
		return errUsage("--pairing-ttl must be positive")
	}
	if len(pos) > 0 {
		return errUsage(fmt.Sprintf("device create takes no arguments, got %q", pos))
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
	core.PairingTTL = *ttl
	d, token, err := core.CreateDevice(ctx, admit.DeviceSpec{Organizer: *org, Name: *name, Event: *event, List: *list})
	if err != nil {
		return err
	}
	base := publicURL(*pub, env, "127.0.0.1:8080")
	return printJSON(env.stdout, map[string]any{
		"uuid": d.UUID, "name": d.Name, "pairing_token": token,
		"pair_url":        api.PairURL(base, *org, token),
		"scanner_url":     api.ScannerURL(base, token),
		"pairing_expires": d.PairingExpires,
	})
}

func cmdDeviceArchive(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("device archive", env)
	db := dbFlag(fs, env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage("usage: admit device archive UUID")
	}
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	d, err := core.ArchiveDevice(ctx, pos[0])
	if err != nil {
		return err
	}
	return printJSON(env.stdout, map[string]any{"uuid": d.UUID, "archived": true})
}
