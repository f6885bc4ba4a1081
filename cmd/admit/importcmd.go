package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/admitdev/admit"
)

type importedEvent struct {
	UUID         string             `json:"uuid"`
	ID           int64              `json:"id"`
	Organizer    string             `json:"organizer"`
	Slug         string             `json:"slug"`
	Name         string             `json:"name"`
	PublicKeyPEM string             `json:"public_key_pem"`
	Subevents    []importedSubevent `json:"subevents"`
}

type importedSubevent struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type importedTicket struct {
	UUID       string  `json:"uuid"`
	Secret     string  `json:"secret"`
	Serial     string  `json:"serial"`
	Order      string  `json:"order"`
	QRCodeData *string `json:"qrcode_data"`
	Parent     string  `json:"addon_of,omitempty"`
}

// importOutput is what `admit import` prints: the event, the counts and
// the time taken, and with --tickets every ticket of the file (as before
// the counts, when that list was all it printed).
type importOutput struct {
	Event         importedEvent    `json:"event"`
	Counts        importCounts     `json:"counts"`
	ReadSeconds   float64          `json:"read_seconds"`      // reading and checking the file
	ImportSeconds float64          `json:"import_seconds"`    // writing it to the database
	Tickets       []importedTicket `json:"tickets,omitempty"` // --tickets: in the file's order
}

// importCounts counts the file's orders and tickets (add-ons included),
// and of the tickets those created and those changed (the others were as
// the file says).
type importCounts struct {
	Orders    int `json:"orders"`
	Tickets   int `json:"tickets"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

func importOutputOf(f *admit.ImportFile, res *admit.ImportResult, read, imported time.Duration, list bool) importOutput {
	out := importOutput{
		Event: importedEvent{
			UUID: res.Event.UUID, ID: res.Event.ID, Organizer: res.Organizer.Slug,
			Slug: res.Event.Slug, Name: res.Event.Name, PublicKeyPEM: res.Event.PublicKeyPEM,
			Subevents: []importedSubevent{},
		},
		Counts: importCounts{Orders: len(f.Orders), Tickets: len(res.Tickets), Created: res.Created,
			Updated: res.Updated, Unchanged: len(res.Tickets) - res.Created - res.Updated},
		ReadSeconds:   seconds(read),
		ImportSeconds: seconds(imported),
	}
	for _, s := range res.Subevents {
		out.Event.Subevents = append(out.Event.Subevents, importedSubevent{ID: s.ID, Name: s.Name})
	}
	if !list {
		return out
	}
	out.Tickets = make([]importedTicket, 0, len(res.Tickets))
	uuids := map[int64]string{}
	for _, t := range res.Tickets {
		uuids[t.ID] = t.UUID
		it := importedTicket{UUID: t.UUID, Secret: t.Secret, Serial: t.Serial, Order: t.OrderCode}
		if t.QRCode != "" {
			qr := t.QRCode
			it.QRCodeData = &qr
		}
		if t.ParentID != 0 {
			it.Parent = uuids[t.ParentID]
		}
		out.Tickets = append(out.Tickets, it)
	}
	return out
}

// seconds rounds d to milliseconds, in seconds.
func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func cmdImport(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("import", env)
	db := dbFlag(fs, env)
	list := fs.Bool("tickets", false, "also list every ticket of the file (uuid, secret, serial, order, QR code data), in its order")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage("usage: admit import FILE.json|- [--tickets] [--db ...]")
	}
	start := time.Now()
	var r io.Reader = env.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("open import file: %w", err)
		}
		defer f.Close()
		r = f
	}
	file, err := admit.ParseImport(r)
	if err != nil {
		return err
	}
	read := time.Since(start)
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	start = time.Now()
	res, err := core.Import(ctx, file)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, importOutputOf(file, res, read, time.Since(start), *list))
}
