package admit

import (
	"encoding/json"
	"fmt"
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
}

// ParseImport reads and validates an import file. Errors name the place.
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

// Validate checks the file and fills in its parsed fields and defaults:
// every reference by name resolves, dates parse, statuses are known, and no
// uuid, secret or serial is used twice within the file.
func (f *ImportFile) Validate() error {
	bad := func(place, format string, args ...any) error {
		return Errorf(EInvalid, "%s: %s", place, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(f.Organizer.Slug) == "" {
		return bad("organizer.slug", "required")
	}
	// An empty name or domain keeps the organizer's (a new organizer is
	// named after its slug): the store applies this.
	ev := &f.Event
	if strings.TrimSpace(ev.Slug) == "" {
		return bad("event.slug", "required")
	}
	if ev.Name == "" {
		ev.Name = ev.Slug
	}
	var err error
	if ev.DateFrom != "" {
		if ev.From, err = parseTime("event.date_from", ev.DateFrom); err != nil {
			return err
		}
	}
	if ev.DateTo != "" {
		if ev.To, err = parseTime("event.date_to", ev.DateTo); err != nil {
			return err
		}
	}
	if ev.Timezone == "" {
		ev.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(ev.Timezone); err != nil {
		return bad("event.timezone", "unknown time zone %q", ev.Timezone)
	}
	switch ev.Signing {
	case "":
		ev.Signing = SigningEd25519
	case SigningEd25519, SigningRSAPSS:
	default:
		return bad("event.signing", "must be %q or %q, not %q", SigningEd25519, SigningRSAPSS, ev.Signing)
	}
	if ev.PublicKeyPEM != nil && *ev.PublicKeyPEM == "" {
		ev.PublicKeyPEM = nil
	}
	if ev.PublicKeyPEM != nil {
		alg, err := PublicKeyAlgorithm(*ev.PublicKeyPEM)
		if err != nil {
			return bad("event.public_key_pem", "%s", ErrorMessage(err))
		}
		if f.Event.Signing != alg && ev.Signing != "" {
			ev.Signing = alg
		}
	}
	f.Subevents = append(f.Subevents, ev.Subevents...)
	ev.Subevents = nil
	subevents := map[string]bool{}
	for i := range f.Subevents {
		s := &f.Subevents[i]
		place := fmt.Sprintf("subevents[%d]", i)
		if s.Name == "" {
			return bad(place+".name", "required")
		}
		if subevents[s.Name] {
			return bad(place+".name", "duplicate subevent %q", s.Name)
		}
		subevents[s.Name] = true
		if s.DateFrom != "" {
			if s.From, err = parseTime(place+".date_from", s.DateFrom); err != nil {
				return err
			}
		}
		if s.DateTo != "" {
			if s.To, err = parseTime(place+".date_to", s.DateTo); err != nil {
				return err
			}
		}
	}
	sections := map[string]bool{}
	for i := range f.Sections {
		s := &f.Sections[i]
		if s.Capacity, err = parseCapacity(fmt.Sprintf("sections[%d].capacity", i), s.CapacityJSON, s.Capacity); err != nil {
			return err
		}
		if s.Name == "" {
			return bad(fmt.Sprintf("sections[%d].name", i), "required")
		}
		if sections[s.Name] {
			return bad(fmt.Sprintf("sections[%d].name", i), "duplicate section %q", s.Name)
		}
		sections[s.Name] = true
	}
	products := map[string]map[string]bool{}
	for i := range f.Products {
		p := &f.Products[i]
		if p.Name == "" {
			return bad(fmt.Sprintf("products[%d].name", i), "required")
		}
		if products[p.Name] != nil {
			return bad(fmt.Sprintf("products[%d].name", i), "duplicate product %q", p.Name)
		}
		if p.Admission == nil {
			yes := true
			p.Admission = &yes
		}
		vs := map[string]bool{}
		for j, v := range p.Variations {
			if v == "" || vs[v] {
				return bad(fmt.Sprintf("products[%d].variations[%d]", i, j), "empty or duplicate variation %q", v)
			}
			vs[v] = true
		}
		products[p.Name] = vs
	}
	lists := map[string]bool{}
	defaults := 0
	for i := range f.Lists {
		l := &f.Lists[i]
		place := fmt.Sprintf("lists[%d]", i)
		if l.Name == "" {
			return bad(place+".name", "required")
		}
		if lists[l.Name] {
			return bad(place+".name", "duplicate list %q", l.Name)
		}
		lists[l.Name] = true
		for j, p := range l.Products {
			if products[p] == nil {
				return bad(fmt.Sprintf("%s.products[%d]", place, j), "unknown product %q", p)
			}
		}
		for j, s := range l.Sections {
			if !sections[s] {
				return bad(fmt.Sprintf("%s.sections[%d]", place, j), "unknown section %q", s)
			}
		}
		if l.Subevent != "" && !subevents[l.Subevent] {
			return bad(place+".subevent", "unknown subevent %q", l.Subevent)
		}
		if l.Capacity, err = parseCapacity(place+".capacity", l.CapacityJSON, l.Capacity); err != nil {
			return err
		}
		if l.AllowEntryAfterExit == nil {
			yes := true
			l.AllowEntryAfterExit = &yes
		}
		if l.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return bad("lists", "more than one list is marked default")
	}
	uuids, secrets, serials, codes := map[string]string{}, map[string]string{}, map[string]string{}, map[string]bool{}
	var checkTicket func(place string, t *ImportTicket, addon bool) error
	checkTicket = func(place string, t *ImportTicket, addon bool) error {
		vs, ok := products[t.Product]
		if !ok {
			return bad(place+".product", "unknown product %q", t.Product)
		}
		if t.Variation != nil && *t.Variation == "" {
			t.Variation = nil
		}
		if t.Variation != nil && !vs[*t.Variation] {
			return bad(place+".variation", "unknown variation %q of product %q", *t.Variation, t.Product)
		}
		if t.Section != "" && !sections[t.Section] {
			return bad(place+".section", "unknown section %q", t.Section)
		}
		if t.Subevent != "" && !subevents[t.Subevent] {
			return bad(place+".subevent", "unknown subevent %q", t.Subevent)
		}
		if t.UUID != "" {
			if !ValidUUID(t.UUID) {
				return bad(place+".uuid", "not a UUID: %q", t.UUID)
			}
			t.UUID = strings.ToLower(t.UUID)
			if other, dup := uuids[t.UUID]; dup {
				return bad(place+".uuid", "duplicate uuid %q (also at %s)", t.UUID, other)
			}
			uuids[t.UUID] = place
		}
		if t.Secret != "" {
			if other, dup := secrets[t.Secret]; dup {
				return bad(place+".secret", "duplicate secret (also at %s)", other)
			}
			secrets[t.Secret] = place
		}
		if t.Serial != "" {
			if other, dup := serials[t.Serial]; dup {
				return bad(place+".serial", "duplicate serial %q (also at %s)", t.Serial, other)
			}
			serials[t.Serial] = place
		}
		if t.From, err = parseOptTime(place+".valid_from", t.ValidFrom); err != nil {
			return err
		}
		if t.Until, err = parseOptTime(place+".valid_until", t.ValidUntil); err != nil {
			return err
		}
		if t.From != nil && t.Until != nil && t.Until.Before(*t.From) {
			return bad(place+".valid_until", "before valid_from")
		}
		if addon && len(t.Addons) > 0 {
			return bad(place+".addons", "an add-on cannot have add-ons")
		}
		for k := range t.Addons {
			if err := checkTicket(fmt.Sprintf("%s.addons[%d]", place, k), &t.Addons[k], true); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range f.Orders {
		o := &f.Orders[i]
		place := fmt.Sprintf("orders[%d]", i)
		if o.Code == "" {
			return bad(place+".code", "required")
		}
		if codes[o.Code] {
			return bad(place+".code", "duplicate order code %q", o.Code)
		}
		codes[o.Code] = true
		if o.Status == "" {
			o.Status = string(OrderPaid)
		}
		if !OrderStatus(o.Status).Valid() {
			return bad(place+".status", "must be paid, pending or canceled, not %q", o.Status)
		}
		if o.UUID != "" && !ValidUUID(o.UUID) {
			return bad(place+".uuid", "not a UUID: %q", o.UUID)
		}
		for j := range o.Tickets {
			if err := checkTicket(fmt.Sprintf("%s.tickets[%d]", place, j), &o.Tickets[j], false); err != nil {
				return err
			}
		}
	}
	return nil
}
