package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"

	"github.com/admitdev/admit"
)

//go:embed demo.json
var demoJSON []byte

// cmdDemo imports the demo event, creates a device, prints how to pair it
// and scan a sample ticket, and serves.
func cmdDemo(ctx context.Context, env *cmdEnv, args []string) error {
	st, err := parseServeSettings(env, "demo", "admit-demo.db", args)
	if err != nil {
		return err
	}
	core, ln, cfg, closeStore, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore()
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
	base := cfg.PublicURL
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

`, res.Event.Name, res.Organizer.Name, st.db, len(res.Tickets), pairURL(base, token), base, t.QRCode, t.UUID, st.db, dev.UUID)
	return serve(ctx, env, core, ln, cfg, st.hub.Close)
}
