package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/api"
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
	st.logLevel = slog.LevelWarn // the guide first; ADMIT_LOG_LEVEL=info for the log

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
	phone, phoneToken, err := core.CreateDevice(ctx, admit.DeviceSpec{Organizer: res.Organizer.Slug, Name: "Browser scanner",
		Event: res.Event.Slug})
	if err != nil {
		return err
	}
	base := cfg.PublicURL
	link, err := core.NewSigninLink(ctx, res.Organizer.Slug, res.Event.Slug)
	if err != nil {
		return err
	}
	signin := signinOutput(base, link)
	t := res.Tickets[0]
	// The sign-in link comes first: a newcomer clicks it and is in.
	fmt.Fprintf(env.stderr, `Dashboard: %s
  (a one-time sign-in link, valid 15 minutes; a new one: go run ./cmd/admit signin --organizer %s --db %s)

admit demo: event %q of %q in %s, with %d tickets.
1. Scan in a browser: open the scanner (device %q) and start its camera, or type a code and Enter:
     %s
   The camera needs localhost or https: on a phone, serve admit over https (see the README).
2. Or pair a scanning device (the TiBillet app, or curl):
     curl %s
   The answer holds "api_key". Scan John Doe's ticket with it:
     curl -X POST %s/scan/ticket/ -H "Authorization: Api-Key API_KEY" \
       -H "Content-Type: application/json" -d '{"qrcode_data": "%s"}'
   Scan it again: "Ticket already scanned".
   Its QR code:  go run ./cmd/admit ticket qr %s --db %s
   Devices:      %s, %s
`, signin.URL, res.Organizer.Slug, st.db, res.Event.Name, res.Organizer.Name, st.db, len(res.Tickets),
		phone.Name, api.ScannerURL(base, phoneToken), api.PairURL(base, res.Organizer.Slug, token), base, t.QRCode, t.UUID, st.db, dev.UUID, phone.UUID)
	return serve(ctx, env, core, ln, cfg, []signinLine{signin}, st)
}
