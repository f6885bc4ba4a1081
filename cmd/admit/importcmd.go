package main

import (
	"context"
	"fmt"
	"io"
	"os"

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

type importOutput struct {
	Event   importedEvent    `json:"event"`
	Tickets []importedTicket `json:"tickets"`
}

func importOutputOf(res *admit.ImportResult) importOutput {
	out := importOutput{
		Event: importedEvent{
			UUID: res.Event.UUID, ID: res.Event.ID, Organizer: res.Organizer.Slug,
			Slug: res.Event.Slug, Name: res.Event.Name, PublicKeyPEM: res.Event.PublicKeyPEM,
			Subevents: []importedSubevent{},
		},
		Tickets: make([]importedTicket, 0, len(res.Tickets)),
	}
	for _, s := range res.Subevents {
		out.Event.Subevents = append(out.Event.Subevents, importedSubevent{ID: s.ID, Name: s.Name})
	}
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

func cmdImport(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("import", env)
	db := dbFlag(fs, env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage("usage: admit import FILE.json|- [--db ...]")
	}
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
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	res, err := core.Import(ctx, file)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, importOutputOf(res))
}
