package admit

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// ImportFile is the declarative import format: one organizer and one event
// with its sections, products, lists, orders and tickets. Importing is an
// idempotent upsert: organizer by slug, event by (organizer, slug), sections,
// products, variations, lists and subevents by name, orders by code, tickets
// by uuid when the file gives one, else by their place in their order.
// Existing tickets keep their uuid, secret, serial and QR code. Nothing that
// is missing from the file is deleted.
type ImportFile struct {
	Organizer ImportOrganizer  `json:"organizer"`
	Event     ImportEvent      `json:"event"`
	Subevents []ImportSubevent `json:"subevents"`
	Sections  []ImportSection  `json:"sections"`
	Products  []ImportProduct  `json:"products"`
	Lists     []ImportList     `json:"lists"`
	Orders    []ImportOrder    `json:"orders"`

	// Existing is set by a CSV import (see CSVImportRequest): the file's
	// rows go into the existing event Event.ID of organizer Organizer.Slug,
	// which keeps its name, dates and lists; the products and sections its
	// tickets name are created when absent (products as admission
	// products), and its subevents must exist.
	Existing bool `json:"-"`
}

type ImportOrganizer struct {
	Slug   string `json:"slug"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
}

type ImportEvent struct {
	Slug         string  `json:"slug"`
	Name         string  `json:"name"`
	DateFrom     string  `json:"date_from"`
	DateTo       string  `json:"date_to"`
	Timezone     string  `json:"timezone"`
	Signing      string  `json:"signing"`
	PublicKeyPEM *string `json:"public_key_pem"`
	// Subevents may also be given inside the event block.
	Subevents []ImportSubevent `json:"subevents"`

	From, To time.Time `json:"-"`
	ID       int64     `json:"-"` // the event, when ImportFile.Existing
}

type ImportSubevent struct {
	Name     string `json:"name"`
	DateFrom string `json:"date_from"`
	DateTo   string `json:"date_to"`

	From, To time.Time `json:"-"`
}

type ImportSection struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// CapacityJSON is the optional "capacity": a whole number >= 0, how many
	// of the section's tickets may be inside at once (over every list of the
	// event). Absent or null: no limit. Validate parses it into Capacity.
	CapacityJSON json.RawMessage `json:"capacity"`

	Capacity *int `json:"-"`
}

type ImportProduct struct {
	Name       string   `json:"name"`
	Admission  *bool    `json:"admission"`
	Variations []string `json:"variations"`
}

type ImportList struct {
	Name                 string   `json:"name"`
	Products             []string `json:"products"`
	Sections             []string `json:"sections"`
	Subevent             string   `json:"subevent"`
	AllowMultipleEntries bool     `json:"allow_multiple_entries"`
	AllowEntryAfterExit  *bool    `json:"allow_entry_after_exit"`
	IncludePending       bool     `json:"include_pending"`
	Default              bool     `json:"default"`
	// CapacityJSON is the optional "capacity": a whole number >= 0, how many
	// tickets may be inside on the list at once. Absent or null: no limit.
	CapacityJSON json.RawMessage `json:"capacity"`

	Capacity *int `json:"-"`
}

type ImportOrder struct {
	Code    string         `json:"code"`
	UUID    string         `json:"uuid"`
	Status  string         `json:"status"`
	Email   string         `json:"email"`
	Name    string         `json:"name"`
	Tickets []ImportTicket `json:"tickets"`

	Where Place `json:"-"` // where the order is in its file, for errors
}

type ImportTicket struct {
	Product    string         `json:"product"`
	Variation  *string        `json:"variation"`
	Price      string         `json:"price"`
	FirstName  string         `json:"first_name"`
	LastName   string         `json:"last_name"`
	Email      string         `json:"email"`
	Section    string         `json:"section"`
	Subevent   string         `json:"subevent"`
	UUID       string         `json:"uuid"`
	Secret     string         `json:"secret"`
	Serial     string         `json:"serial"`
	ValidFrom  *string        `json:"valid_from"`
	ValidUntil *string        `json:"valid_until"`
	Blocked    bool           `json:"blocked"`
	Addons     []ImportTicket `json:"addons"`

	From, Until *time.Time `json:"-"`
	Where       Place      `json:"-"` // where the ticket is in its file, for errors
}

// ParseImport reads and validates an import file, whole, into memory: for
// small files (tests, tools); ImportJSON streams any size. Errors name the
// place.
func ParseImport(r io.Reader) (*ImportFile, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f ImportFile
	if err := dec.Decode(&f); err != nil {
		return nil, Errorf(EInvalid, "malformed import JSON: %v", err)
	}
	if dec.More() {
		return nil, Errorf(EInvalid, "malformed import JSON: more than one JSON value")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func parseTime(place, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, Errorf(EInvalid, "%s: bad date %q (want RFC 3339, e.g. 2026-12-27T17:00:00Z)", place, s)
}

// parseCapacity reads an optional capacity: absent or null is no limit,
// else a whole number from 0 to 1e9. A file built in Go may set the parsed
// value (set) and no JSON: it is checked alike.
func parseCapacity(place string, raw json.RawMessage, set *int) (*int, error) {
	v := strings.TrimSpace(string(raw))
	if v == "" && set != nil {
		v = strconv.Itoa(*set)
	}
	if v == "" || v == "null" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1e9 {
		return nil, Errorf(EInvalid, "%s: must be a whole number from 0 to 1000000000, not %s", place, v)
	}
	return &n, nil
}

func parseOptTime(place string, s *string) (*time.Time, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	t, err := parseTime(place, *s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
