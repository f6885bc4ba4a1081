package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// cmdEnv is what every command gets from run.
type cmdEnv struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

var errUsageShown = errors.New("usage shown")

type usageError string

func (e usageError) Error() string { return string(e) }

func errUsage(msg string) error { return usageError(msg) }

// errorText is the one line an error shows on stderr: the domain message,
// plus the cause for internal errors (the CLI user is the operator).
func errorText(err error) string {
	var e *admit.Error
	if errors.As(err, &e) {
		if e.Code == admit.EInternal && e.Err != nil {
			return e.Message + ": " + e.Err.Error()
		}
		return e.Message
	}
	return err.Error()
}

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(name string, env *cmdEnv) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

// parseFlags parses args allowing flags before and after positional
// arguments, and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errUsageShown
			}
			return nil, errUsage(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// dbFlag adds --db with its environment default.
func dbFlag(fs *flag.FlagSet, env *cmdEnv) *string {
	def := env.getenv("ADMIT_DB")
	if def == "" {
		def = "admit.db"
	}
	return fs.String("db", def, "database: a SQLite file path, or a postgres:// URL (env ADMIT_DB)")
}

// openCore opens the store and returns a core on it; close it when done.
func openCore(ctx context.Context, env *cmdEnv, dsn string, log *slog.Logger) (*admit.Core, func(), error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, nil, errUsage("--db must not be empty")
	}
	store, err := sqlstore.Open(ctx, dsn, log)
	if err != nil {
		return nil, nil, err
	}
	core := admit.NewCore(store, log)
	return core, func() { store.Close() }, nil
}

// quietLogger logs warnings and errors to stderr (for CLI commands).
func quietLogger(env *cmdEnv) *slog.Logger {
	return slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// publicURL is --public-url, else ADMIT_PUBLIC_URL, else built from the
// listen address; never with a trailing slash.
func publicURL(flagValue string, env *cmdEnv, listen string) string {
	u := flagValue
	if u == "" {
		u = env.getenv("ADMIT_PUBLIC_URL")
	}
	if u == "" {
		host := listen
		if strings.HasPrefix(host, ":") {
			host = "127.0.0.1" + host
		}
		u = "http://" + host
	}
	return strings.TrimRight(u, "/")
}

func requireFlag(name, value string) error {
	if strings.TrimSpace(value) == "" {
		return errUsage(fmt.Sprintf("--%s is required", name))
	}
	return nil
}
