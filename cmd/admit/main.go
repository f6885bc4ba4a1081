// Command admit is the admit check-in server and its admin CLI.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(1)
	}
}

const usage = `usage: admit <command> [flags]

commands:
  serve                 run the server (--listen, --db, --public-url)
  demo                  import a demo event, create a device, print how to scan, and serve
  import FILE|-         import an organizer's event, its orders and tickets (JSON); prints counts ([--tickets]: and every ticket)
  device create         create a scanning device (--organizer, --name, [--event], [--list])
  device archive UUID   archive a device: its key is refused from its next request
  ticket qr UUID        show a ticket's QR code ([--png FILE])
  pretixdroid key       create a pretixdroid app key (--event ORG/EVENT, [--list], [--subevent], [--no-search], [--qr])
  apikey create         create an organizer's key (--organizer, --name, [--role admin|scanner])
  signin                print a one-time sign-in link to the dashboard (--organizer, [--event], [--public-url])
  bench                 run the load benchmark
  backup FILE           copy the SQLite database to FILE, consistent, while a server runs
  restore FILE          make the SQLite database a copy of the backup FILE (the server stopped)
  log verify            recompute the scan log's Merkle tree from the rows and check every checkpoint (non-zero exit if altered; [--event ORG/EVENT]: also account for one event)
  log checkpoint        print the latest signed checkpoint of the scan log and the key that checks it
  log proof SCAN_ID     print an inclusion proof of a scan against the latest checkpoint
  version               print the version, the commit and the Go version
  healthcheck           exit 0 if the server at ADMIT_LISTEN (or --url) answers /healthz ([--ready]: /readyz)

Every command takes --db (env ADMIT_DB, default admit.db); a postgres:// URL selects PostgreSQL.
`

// run is the whole program: main only calls it. Commands print JSON on
// stdout; errors go to stderr as one clear line, with a non-nil error.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	if err != nil && err != errUsageShown {
		fmt.Fprintf(stderr, "admit: %s\n", errorText(err))
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage("no command")
	}
	env := &cmdEnv{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, env, rest)
	case "demo":
		return cmdDemo(ctx, env, rest)
	case "import":
		return cmdImport(ctx, env, rest)
	case "device":
		switch sub {
		case "create":
			return cmdDeviceCreate(ctx, env, rest[1:])
		case "archive":
			return cmdDeviceArchive(ctx, env, rest[1:])
		}
		return errUsage("usage: admit device create|archive ...")
	case "ticket":
		if sub == "qr" {
			return cmdTicketQR(ctx, env, rest[1:])
		}
		return errUsage("usage: admit ticket qr UUID [--png FILE]")
	case "pretixdroid":
		if sub == "key" {
			return cmdPretixdroidKey(ctx, env, rest[1:])
		}
		return errUsage("usage: admit pretixdroid key --event ORG/EVENT ...")
	case "apikey":
		if sub == "create" {
			return cmdAPIKeyCreate(ctx, env, rest[1:])
		}
		return errUsage("usage: admit apikey create --organizer SLUG --name NAME")
	case "signin":
		return cmdSignin(ctx, env, rest)
	case "bench":
		return cmdBench(ctx, env, rest)
	case "backup":
		return cmdBackup(ctx, env, rest)
	case "restore":
		return cmdRestore(ctx, env, rest)
	case "log":
		return cmdLog(ctx, env, rest)
	case "version":
		return cmdVersion(env, rest)
	case "healthcheck":
		return cmdHealthcheck(ctx, env, rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return errUsage(fmt.Sprintf("unknown command %q", cmd))
}
