package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/pretixdroid"
)

// cmdPretixdroidKey creates a pretixdroid app configuration: a key bound to
// one check-in list, and the setup JSON that the app's setup QR code holds.
func cmdPretixdroidKey(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("pretixdroid key", env)
	db := dbFlag(fs, env)
	event := fs.String("event", "", "the event, as ORGANIZER/EVENT (slugs)")
	list := fs.String("list", "", "the check-in list (name; default: the event's default list)")
	subevent := fs.String("subevent", "", "the date of an event series (name)")
	name := fs.String("name", "", "a label for the key")
	noSearch := fs.Bool("no-search", false, "the app may only search by secret prefix")
	showQR := fs.Bool("qr", false, "also show the setup QR code in the terminal (on stderr)")
	pub := fs.String("public-url", "", "public base URL the app reaches the server at (env ADMIT_PUBLIC_URL)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage(fmt.Sprintf("pretixdroid key takes no arguments, got %q", pos))
	}
	if err := requireFlag("event", *event); err != nil {
		return err
	}
	org, ev, ok := strings.Cut(*event, "/")
	if !ok || strings.TrimSpace(org) == "" || strings.TrimSpace(ev) == "" || strings.Contains(ev, "/") {
		return errUsage(fmt.Sprintf("--event must be ORGANIZER/EVENT (slugs), not %q", *event))
	}
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	k, err := core.CreatePretixdroidKey(ctx, admit.PretixdroidKeySpec{
		Organizer: org, Event: ev, List: *list, Subevent: *subevent, NoSearch: *noSearch, Name: *name,
	})
	if err != nil {
		return err
	}
	setup := pretixdroid.SetupFor(publicURL(*pub, env, "127.0.0.1:8080"), k)
	if *showQR {
		data, err := json.Marshal(setup)
		if err != nil {
			return fmt.Errorf("encode setup: %w", err)
		}
		qr, err := qrcode.New(string(data), qrcode.Medium)
		if err != nil {
			return fmt.Errorf("make QR code: %w", err)
		}
		fmt.Fprint(env.stderr, qr.ToSmallString(false))
	}
	return printJSON(env.stdout, map[string]any{"key": k.Plain, "setup": setup})
}
