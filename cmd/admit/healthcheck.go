package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// cmdHealthcheck asks a running server's /healthz (or /readyz) and fails
// unless it answers 200: the container's HEALTHCHECK (the image has no
// curl), or a script's.
func cmdHealthcheck(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("healthcheck", env)
	url := fs.String("url", "", "the server's base URL (default: from ADMIT_LISTEN, else http://127.0.0.1:8080)")
	ready := fs.Bool("ready", false, "ask /readyz (the database answers) instead of /healthz (the process answers)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage("usage: admit healthcheck [--url URL] [--ready] [--timeout 3s]")
	}
	base := *url
	if base == "" {
		base = "http://" + loopbackOf(envOr(env, "ADMIT_LISTEN", "127.0.0.1:8080"))
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return errUsage(fmt.Sprintf("--url: %v", err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", req.URL, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	_, err = env.stdout.Write(body)
	return err
}

// loopbackOf turns a listen address into one to reach it from the same
// machine: an unspecified host (":8080", "0.0.0.0:8080", "[::]:8080")
// becomes the loopback address.
func loopbackOf(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
