package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"net"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/server"
)

//go:embed demo.json
var demoJSON []byte

// cmdDemo imports the demo event, creates a device, prints how to pair it
// and scan a sample ticket, and serves.
func cmdDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("demo", env)
	sf, err := addServeFlags(fs, env, "admit-demo.db")
	if err != nil {
		return err
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage(fmt.Sprintf("demo takes no arguments, got %q", pos))
	}
	proxies, err := server.ParseTrustedProxies(*sf.trustedProxies)
	if err != nil {
		return errUsage(fmt.Sprintf("--trusted-proxies: %v", err))
	}
	log := serverLogger(env)
	core, closeStore, err := openCore(ctx, env, *sf.db, log)
	if err != nil {
		return err
	}
	defer closeStore()
	core.PairingTTL = *sf.pairingTTL
	file, err := admit.ParseImport(bytes.NewReader(demoJSON))
	if err != nil {
		return err
	}
	res, err := core.Import(ctx, file)
	if err != nil {
		return err
	}
	dev, token, err := core.CreateDevice(ctx, admit.DeviceSpec{Organizer: res.Organizer.Slug, Name: "Demo scanner"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *sf.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *sf.listen, err)
	}
	base := publicURL(*sf.publicURL, env, ln.Addr().String())
	t := res.Tickets[0]
	fmt.Fprintf(env.stderr, `
admit demo: event %q of %q in %s, with %d tickets.

1. Pair a scanning device (the TiBillet app, or curl):
     curl %s
   The answer holds "api_key".

2. Scan John Doe's ticket with it:
     curl -X POST %s/scan/ticket/ -H "Authorization: Api-Key API_KEY" \
       -H "Content-Type: application/json" -d '{"qrcode_data": "%s"}'
   Scan it again: "Ticket already scanned".

   Its QR code:  go run ./cmd/admit ticket qr %s --db %s
   Device:       %s

`, res.Event.Name, res.Organizer.Name, *sf.db, len(res.Tickets), pairURL(base, token), base, t.QRCode, t.UUID, *sf.db, dev.UUID)
	return serve(ctx, env, core, ln, server.Config{Logger: log, PublicURL: base, TrustedProxies: proxies})
}
