package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/admitdev/admit/sqlstore"
)

const logUsage = `usage: admit log verify [--checkpoint FILE]... | checkpoint | proof SCAN_ID  [--db admit.db]`

// errLogBroken: admit log verify found the log altered (the report is on
// stdout).
var errLogBroken = errors.New("the scan log does not verify")

// cmdLog runs admit log verify, checkpoint and proof.
func cmdLog(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return errUsage(logUsage)
	}
	sub := args[0]
	fs := newFlags("log "+sub, env)
	db := dbFlag(fs, env)
	var kept []string
	if sub == "verify" {
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
		rep, err := st.VerifyScanLog(ctx, kept...)
		if err != nil {
			return err
		}
		if err := printJSON(env.stdout, rep); err != nil {
			return err
		}
		if !rep.OK {
			return errLogBroken
		}
		return nil
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
