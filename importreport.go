package admit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"time"
)

// ImportRequest is what a door asks of a JSON import.
type ImportRequest struct {
	// OrganizerID, when set, is the only organizer the file may name:
	// another (or one that does not exist yet) is EForbidden, and nothing
	// is imported.
	OrganizerID int64
	// Progress, when set, is told the tickets written so far, after each
	// chunk (before the import commits).
	Progress func(tickets int)
}

// CSVImportRequest is what a door asks of a CSV import: the rows go into
// an existing event. See ImportFile.Existing and the README for the
// columns.
type CSVImportRequest struct {
	Event   *Event // the event, or
	EventID int64  // its id
	// OrganizerID, when set, must be the event's organizer (else
	// EForbidden).
	OrganizerID int64
	// Map renames columns for a shop's export: column (order_code, email,
	// ...) -> the file's header for it, case-insensitive.
	Map map[string]string
	// Ignore lists headers of the file's columns to skip.
	Ignore []string
	// Progress: see ImportRequest.
	Progress func(tickets int)
}

// ImportOutput is what `admit import` prints and the API answers: the
// event, the counts and the time taken, and on request every ticket of the
// file, in its order.
type ImportOutput struct {
	Event         ImportedEvent    `json:"event"`
	Counts        ImportCounts     `json:"counts"`
	ReadSeconds   float64          `json:"read_seconds"`      // reading and checking the file
	ImportSeconds float64          `json:"import_seconds"`    // writing it to the database
	Tickets       []ImportedTicket `json:"tickets,omitempty"` // in the file's order
}

type ImportedEvent struct {
	UUID         string             `json:"uuid"`
	ID           int64              `json:"id"`
	Organizer    string             `json:"organizer"`
	Slug         string             `json:"slug"`
	Name         string             `json:"name"`
	PublicKeyPEM string             `json:"public_key_pem"`
	Subevents    []ImportedSubevent `json:"subevents"`
}

type ImportedSubevent struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type ImportedTicket struct {
	UUID       string  `json:"uuid"`
	Secret     string  `json:"secret"`
	Serial     string  `json:"serial"`
	Order      string  `json:"order"`
	QRCodeData *string `json:"qrcode_data"`
	Parent     string  `json:"addon_of,omitempty"`
}

// ImportCounts counts the file's orders and tickets (add-ons included),
// and of the tickets those created and those changed (the others were as
// the file says).
type ImportCounts struct {
	Orders    int `json:"orders"`
	Tickets   int `json:"tickets"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// ImportReport is what an import did. WriteJSON writes it, with the
// tickets read back from the database; Close releases the temporary file
// of their ids (every report must be closed).
type ImportReport struct {
	Output ImportOutput // without Tickets

	store Store
	ids   *os.File // the file's tickets' ids, 8 bytes each, in its order
	n     int
}

// Close removes the list of the imported tickets.
func (r *ImportReport) Close() error {
	if r == nil || r.ids == nil {
		return nil
	}
	err := r.ids.Close()
	r.ids = nil
	return err
}

// WriteJSON writes the report as JSON (two-space indented, as `admit
// import` prints it), and with tickets every ticket of the file in its
// order, read from the database a few hundred at a time.
func (r *ImportReport) WriteJSON(ctx context.Context, w io.Writer, tickets bool) error {
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	out := r.Output
	out.Tickets = nil
	if err := enc.Encode(out); err != nil {
		return err
	}
	if !tickets || r.n == 0 {
		_, err := w.Write(head.Bytes())
		return err
	}
	if r.ids == nil {
		return Errorf(EInternal, "import report: the list of tickets is closed")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	b := head.Bytes()
	bw.Write(b[:len(b)-len("\n}\n")])
	bw.WriteString(",\n  \"tickets\": [\n")
	if _, err := r.ids.Seek(0, io.SeekStart); err != nil {
		return WrapInternal(err, "import report")
	}
	rd := bufio.NewReaderSize(r.ids, 64<<10)
	var tenc bytes.Buffer
	te := json.NewEncoder(&tenc)
	te.SetIndent("    ", "  ")
	te.SetEscapeHTML(false)
	var parentID int64
	var parentUUID string
	const batch = 500
	ids := make([]int64, 0, batch)
	var buf [8]byte
	first := true
	for done := 0; done < r.n; {
		ids = ids[:0]
		for len(ids) < batch && done+len(ids) < r.n {
			if _, err := io.ReadFull(rd, buf[:]); err != nil {
				return WrapInternal(err, "import report")
			}
			ids = append(ids, int64(binary.LittleEndian.Uint64(buf[:])))
		}
		done += len(ids)
		if err := ctx.Err(); err != nil {
			return err
		}
		ts, err := r.store.TicketsByID(ctx, ids)
		if err != nil {
			return err
		}
		for _, t := range ts {
			it := ImportedTicket{UUID: t.UUID, Secret: t.Secret, Serial: t.Serial, Order: t.OrderCode}
			if t.QRCode != "" {
				qr := t.QRCode
				it.QRCodeData = &qr
			}
			if t.ParentID == 0 {
				parentID, parentUUID = t.ID, t.UUID
			} else if t.ParentID == parentID {
				it.Parent = parentUUID
			} else if ps, err := r.store.TicketsByID(ctx, []int64{t.ParentID}); err != nil {
				return err
			} else if len(ps) == 1 {
				it.Parent = ps[0].UUID
			}
			tenc.Reset()
			if err := te.Encode(it); err != nil {
				return err
			}
			if !first {
				bw.WriteString(",\n")
			}
			first = false
			bw.WriteString("    ")
			bw.Write(bytes.TrimSuffix(tenc.Bytes(), []byte("\n")))
		}
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// importOptions makes the event's keys if the import creates it, and signs
// new tickets' QR codes unless the file brings its own public key.
func (c *Core) importOptions(ctx context.Context, h *ImportFile) (ImportOptions, error) {
	opts := ImportOptions{Now: c.now(), Sign: c.Keys.SignCode}
	exists := false
	if org, err := c.Store.OrganizerBySlug(ctx, h.Organizer.Slug); err == nil {
		if _, err := c.Store.EventBySlug(ctx, org.ID, h.Event.Slug); err == nil {
			exists = true
		} else if !IsNotFound(err) {
			return opts, err
		}
	} else if !IsNotFound(err) {
		return opts, err
	}
	if !exists && h.Event.PublicKeyPEM == nil {
		kp, err := GenerateKeyPair(h.Event.Signing)
		if err != nil {
			return opts, err
		}
		opts.NewKeys = kp
	}
	if h.Event.PublicKeyPEM != nil {
		opts.Sign = nil
	}
	return opts, nil
}

// ImportJSON imports a JSON import file read from r as it goes: any size
// in bounded memory, all or nothing. Bad input is EInvalid naming the
// place. The report must be closed.
func (c *Core) ImportJSON(ctx context.Context, r io.Reader, req ImportRequest) (*ImportReport, error) {
	start := time.Now()
	src, err := newJSONSource(r)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	h := src.Header()
	if req.OrganizerID != 0 {
		org, err := c.Store.OrganizerBySlug(ctx, h.Organizer.Slug)
		if err != nil && !IsNotFound(err) {
			return nil, err
		}
		if org == nil || org.ID != req.OrganizerID {
			return nil, Errorf(EForbidden, "organizer.slug: %q is not your organizer", h.Organizer.Slug)
		}
	}
	opts, err := c.importOptions(ctx, h)
	if err != nil {
		return nil, err
	}
	return c.runImport(ctx, src, opts, start, time.Since(start), req.Progress)
}

// ImportCSV imports a CSV file of tickets into an existing event, read
// from r as it goes: any size in bounded memory, all or nothing. Bad input
// is EInvalid naming the row and column. The report must be closed.
func (c *Core) ImportCSV(ctx context.Context, r io.Reader, req CSVImportRequest) (*ImportReport, error) {
	start := time.Now()
	ev := req.Event
	if ev == nil {
		var err error
		if ev, err = c.Store.Event(ctx, req.EventID); err != nil {
			if IsNotFound(err) {
				return nil, Errorf(ENotFound, "unknown event")
			}
			return nil, err
		}
	}
	if req.OrganizerID != 0 && ev.OrganizerID != req.OrganizerID {
		return nil, Errorf(EForbidden, "the event is not your organizer's")
	}
	org, err := c.Store.Organizer(ctx, ev.OrganizerID)
	if err != nil {
		return nil, err
	}
	h := &ImportFile{Organizer: ImportOrganizer{Slug: org.Slug}, Existing: true,
		Event: ImportEvent{Slug: ev.Slug, Name: ev.Name, Signing: ev.Signing, ID: ev.ID}}
	src, err := newCSVSource(r, h, req.Map, req.Ignore)
	if err != nil {
		return nil, err
	}
	opts := ImportOptions{Now: c.now(), Sign: c.Keys.SignCode}
	if ev.PrivateKeyPEM == "" {
		opts.Sign = nil // the event verifies codes issued elsewhere
	}
	return c.runImport(ctx, src, opts, start, time.Since(start), req.Progress)
}

// runImport streams src into the store, keeping the tickets' ids in a
// temporary file for the report.
func (c *Core) runImport(ctx context.Context, src ImportSource, opts ImportOptions, start time.Time, header time.Duration, progress func(int)) (*ImportReport, error) {
	if c.Observer != nil {
		c.Observer.Importing(1)
		defer c.Observer.Importing(-1)
	}
	f, err := os.CreateTemp("", "admit-import-ids-*")
	if err != nil {
		return nil, WrapInternal(err, "import")
	}
	os.Remove(f.Name()) // gone once closed
	rep := &ImportReport{store: c.Store, ids: f}
	w := bufio.NewWriterSize(f, 64<<10)
	var buf [8]byte
	opts.Placed = func(ids []int64) error {
		for _, id := range ids {
			binary.LittleEndian.PutUint64(buf[:], uint64(id))
			if _, err := w.Write(buf[:]); err != nil {
				return WrapInternal(err, "import: the list of tickets")
			}
		}
		rep.n += len(ids)
		if progress != nil {
			progress(rep.n)
		}
		return nil
	}
	sum, err := c.Store.ImportStream(ctx, src, opts)
	if err == nil {
		// Every event has its global admission token from the start.
		_, err = c.EnsureGlobalToken(ctx, sum.Event)
	}
	if err == nil {
		if err = w.Flush(); err != nil {
			err = WrapInternal(err, "import: the list of tickets")
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if c.Observer != nil {
		c.Observer.Imported(sum.Tickets)
	}
	total := time.Since(start)
	read := header + sum.ReadTime
	out := &rep.Output
	out.Event = ImportedEvent{UUID: sum.Event.UUID, ID: sum.Event.ID, Organizer: sum.Organizer.Slug,
		Slug: sum.Event.Slug, Name: sum.Event.Name, PublicKeyPEM: sum.Event.PublicKeyPEM, Subevents: []ImportedSubevent{}}
	for _, s := range sum.Subevents {
		out.Event.Subevents = append(out.Event.Subevents, ImportedSubevent{ID: s.ID, Name: s.Name})
	}
	out.Counts = ImportCounts{Orders: sum.Orders, Tickets: sum.Tickets, Created: sum.Created, Updated: sum.Updated,
		Unchanged: sum.Tickets - sum.Created - sum.Updated}
	out.ReadSeconds, out.ImportSeconds = seconds(read), seconds(total-read)
	return rep, nil
}

// seconds rounds d to milliseconds, in seconds.
func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
