package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

const logUsage = `usage: admit log verify [--event ORGANIZER/EVENT|EVENT_UUID] [--checkpoint FILE]... | checkpoint | proof SCAN_ID  [--db admit.db]

The scan log is one Merkle tree over every event's scans: verify always
checks all of it. With --event it also reports that event's rows ("event":
its rows, those covered by the latest checkpoint) and, if the log does not
verify, whether the first damage is in the event's rows ("damage": "event"),
another event's ("other_event") or cannot be told ("unattributed": a row
deleted, or the stored tree). Any damage, in the event or not, exits 1: a
checkpoint vouches for all of its rows or for none.`

// errLogBroken: admit log verify found the log altered (the report is on
// stdout).
var errLogBroken = errors.New("the scan log does not verify")

// logEvent finds the event that --event names: ORGANIZER/EVENT (slugs) or
// its uuid.
func logEvent(ctx context.Context, st *sqlstore.Store, name string) (*admit.Event, error) {
	if org, slug, ok := strings.Cut(name, "/"); ok {
		if org == "" || slug == "" || strings.Contains(slug, "/") {
			return nil, errUsage(fmt.Sprintf("--event must be ORGANIZER/EVENT (slugs) or an event uuid, not %q", name))
		}
		o, err := st.OrganizerBySlug(ctx, org)
		if admit.IsNotFound(err) {
			return nil, admit.Errorf(admit.ENotFound, "unknown organizer %q", org)
		}
		if err != nil {
			return nil, err
		}
		ev, err := st.EventBySlug(ctx, o.ID, slug)
		if admit.IsNotFound(err) {
			return nil, admit.Errorf(admit.ENotFound, "unknown event %q of organizer %q", slug, org)
		}
		return ev, err
	}
	if !admit.ValidUUID(name) {
		return nil, errUsage(fmt.Sprintf("--event must be ORGANIZER/EVENT (slugs) or an event uuid, not %q", name))
	}
	ev, err := st.EventByUUID(ctx, strings.ToLower(name))
	if admit.IsNotFound(err) {
		return nil, admit.Errorf(admit.ENotFound, "unknown event %q", name)
	}
	return ev, err
}

// cmdLog runs admit log verify, checkpoint and proof.
func cmdLog(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return errUsage(logUsage)
	}
	sub := args[0]
	fs := newFlags("log "+sub, env)
	db := dbFlag(fs, env)
	var kept []string
	var event *string
	if sub == "verify" {
		event = fs.String("event", "", "also account for this event: ORGANIZER/EVENT (slugs) or the event's uuid")
		fs.Func("checkpoint", "a checkpoint kept outside the server (a file: the note, or admit log checkpoint's output); repeatable", func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var out struct {
				Checkpoint string `json:"checkpoint"`
			}
			if json.Unmarshal(b, &out) == nil && out.Checkpoint != "" {
				b = []byte(out.Checkpoint)
			}
			kept = append(kept, string(b))
			return nil
		})
	}
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if strings.TrimSpace(*db) == "" {
		return errUsage("--db must not be empty")
	}
	open := func() (*sqlstore.Store, error) { return sqlstore.Open(ctx, *db, quietLogger(env)) }
	switch {
	case sub == "verify" && len(pos) == 0:
		st, err := open()
		if err != nil {
			return err
		}
		defer st.Close()
		var rep *sqlstore.ScanLogReport
		var ev *admit.Event
		if *event != "" {
			if ev, err = logEvent(ctx, st, *event); err != nil {
				return err
			}
			rep, err = st.VerifyScanLogEvent(ctx, ev.ID, kept...)
		} else {
			rep, err = st.VerifyScanLog(ctx, kept...)
		}
		if err != nil {
			return err
		}
		if rep.Event != nil {
			rep.Event.Event = ev.UUID
		}
		if err := printJSON(env.stdout, rep); err != nil {
			return err
		}
		switch {
		case rep.OK:
			return nil
		case rep.Event != nil && rep.Event.Damage == sqlstore.DamageOtherEvent:
			return fmt.Errorf("%w: the first damage is outside event %s (scan %d, another event's); its rows are not vouched for until the whole log verifies", errLogBroken, *event, rep.FirstScan)
		case rep.Event != nil && rep.Event.Damage == sqlstore.DamageUnattributed:
			return fmt.Errorf("%w: the first damage cannot be told to be in event %s or not (a row deleted, or the stored tree); its rows are not vouched for until the whole log verifies", errLogBroken, *event)
		}
		return errLogBroken
	case sub == "checkpoint" && len(pos) == 0:
		st, err := open()
		if err != nil {
			return err
		}
		defer st.Close()
		msg, err := st.LatestScanLogCheckpoint(ctx)
		if err != nil {
			return err
		}
		vkey, err := st.ScanLogVerifierKey(ctx)
		if err != nil {
			return err
		}
		return printJSON(env.stdout, map[string]any{"checkpoint": msg, "verifier_key": vkey})
	case sub == "proof" && len(pos) == 1:
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || id <= 0 {
			return errUsage("SCAN_ID must be a scan's id (a positive integer)")
		}
		st, err := open()
		if err != nil {
			return err
		}
		defer st.Close()
		p, err := st.ProveScan(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(env.stdout, p)
	}
	return errUsage(logUsage)
}
