package admit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of an import file, checked wherever it comes from.
const (
	// MaxImportText is the most characters of one text field (a name, an
	// email, a code, a price label...).
	MaxImportText = 1000
	// MaxImportPEM is the most bytes of an event's public key.
	MaxImportPEM = 16 << 10
	// MaxOrderTickets is the most tickets (add-ons included) of one order.
	MaxOrderTickets = 10_000
)

// Place is where an order or a ticket is in its file, for error messages:
// orders[3].tickets[1].addons[0] in JSON, a row in CSV.
type Place struct {
	Order, Ticket, Addon int // JSON indexes; -1 when not applicable
	// Row is the CSV row (the header is row 1); 0 in JSON.
	Row int
	// Columns maps a field's JSON name to the CSV file's column (CSV only).
	Columns map[string]string
}

func orderPlace(i int) Place       { return Place{Order: i, Ticket: -1, Addon: -1} }
func ticketPlace(i, j int) Place   { return Place{Order: i, Ticket: j, Addon: -1} }
func addonPlace(i, j, k int) Place { return Place{Order: i, Ticket: j, Addon: k} }
func rowPlace(row int, cols map[string]string) Place {
	return Place{Order: -1, Ticket: -1, Addon: -1, Row: row, Columns: cols}
}

func (p Place) String() string {
	if p.Row > 0 {
		return "row " + strconv.Itoa(p.Row)
	}
	s := "orders[" + strconv.Itoa(p.Order) + "]"
	if p.Ticket >= 0 {
		s += ".tickets[" + strconv.Itoa(p.Ticket) + "]"
	}
	if p.Addon >= 0 {
		s += ".addons[" + strconv.Itoa(p.Addon) + "]"
	}
	return s
}

// Field names a field at p: orders[3].tickets[1].secret, or in CSV
// "row 12, column secret" (the file's name of the column).
func (p Place) Field(name string) string {
	if p.Row > 0 {
		col := name
		if c, ok := p.Columns[name]; ok {
			col = c
		}
		return "row " + strconv.Itoa(p.Row) + ", column " + col
	}
	return p.String() + "." + name
}

func bad(place, format string, args ...any) error {
	return Errorf(EInvalid, "%s: %s", place, fmt.Sprintf(format, args...))
}

// checkText refuses a text field over MaxImportText characters.
func checkText(place, s string) error {
	if len(s) > MaxImportText && utf8.RuneCountInString(s) > MaxImportText {
		return bad(place, "longer than %d characters", MaxImportText)
	}
	return nil
}

// importCatalog is what an order of a file may name.
type importCatalog struct {
	subevents map[string]bool
	sections  map[string]bool
	products  map[string]map[string]bool // product -> its variations
	// open: products and sections are created when absent (CSV); subevents
	// are checked by the store.
	open bool
}

// importDups finds a uuid, secret, serial or order code used twice in a
// file held in memory (a stream's are found by the store).
type importDups struct {
	uuids, secrets, serials map[string]string
	codes                   map[string]bool
}

// Validate checks the file and fills in its parsed fields and defaults:
// every reference by name resolves, dates parse, statuses are known, and no
// uuid, secret or serial is used twice within the file.
func (f *ImportFile) Validate() error {
	cat, err := f.validateHeader()
	if err != nil {
		return err
	}
	if err := f.validateLists(cat); err != nil {
		return err
	}
	dups := &importDups{uuids: map[string]string{}, secrets: map[string]string{}, serials: map[string]string{}, codes: map[string]bool{}}
	for i := range f.Orders {
		if err := cat.checkOrder(&f.Orders[i], orderPlace(i), dups); err != nil {
			return err
		}
	}
	return nil
}

// validateHeader checks the organizer, the event, its subevents, sections
// and products.
func (f *ImportFile) validateHeader() (*importCatalog, error) {
	if strings.TrimSpace(f.Organizer.Slug) == "" {
		return nil, bad("organizer.slug", "required")
	}
	for _, c := range []struct{ place, v string }{{"organizer.slug", f.Organizer.Slug}, {"organizer.name", f.Organizer.Name},
		{"organizer.domain", f.Organizer.Domain}, {"event.slug", f.Event.Slug}, {"event.name", f.Event.Name}} {
		if err := checkText(c.place, c.v); err != nil {
			return nil, err
		}
	}
	// An empty name or domain keeps the organizer's (a new organizer is
	// named after its slug): the store applies this.
	ev := &f.Event
	if strings.TrimSpace(ev.Slug) == "" {
		return nil, bad("event.slug", "required")
	}
	if ev.Name == "" {
		ev.Name = ev.Slug
	}
	var err error
	if ev.DateFrom != "" {
		if ev.From, err = parseTime("event.date_from", ev.DateFrom); err != nil {
			return nil, err
		}
	}
	if ev.DateTo != "" {
		if ev.To, err = parseTime("event.date_to", ev.DateTo); err != nil {
			return nil, err
		}
	}
	if ev.Timezone == "" {
		ev.Timezone = "UTC"
	}
	if len(ev.Timezone) > 100 || func() bool { _, err := time.LoadLocation(ev.Timezone); return err != nil }() {
		return nil, bad("event.timezone", "unknown time zone %q", ev.Timezone)
	}
	switch ev.Signing {
	case "":
		ev.Signing = SigningEd25519
	case SigningEd25519, SigningRSAPSS:
	default:
		return nil, bad("event.signing", "must be %q or %q, not %q", SigningEd25519, SigningRSAPSS, ev.Signing)
	}
	if ev.PublicKeyPEM != nil && *ev.PublicKeyPEM == "" {
		ev.PublicKeyPEM = nil
	}
	if ev.PublicKeyPEM != nil {
		if len(*ev.PublicKeyPEM) > MaxImportPEM {
			return nil, bad("event.public_key_pem", "longer than %d bytes", MaxImportPEM)
		}
		alg, err := PublicKeyAlgorithm(*ev.PublicKeyPEM)
		if err != nil {
			return nil, bad("event.public_key_pem", "%s", ErrorMessage(err))
		}
		if f.Event.Signing != alg && ev.Signing != "" {
			ev.Signing = alg
		}
	}
	f.Subevents = append(f.Subevents, ev.Subevents...)
	ev.Subevents = nil
	cat := &importCatalog{subevents: map[string]bool{}, sections: map[string]bool{}, products: map[string]map[string]bool{}}
	for i := range f.Subevents {
		s := &f.Subevents[i]
		place := fmt.Sprintf("subevents[%d]", i)
		if s.Name == "" {
			return nil, bad(place+".name", "required")
		}
		if err := checkText(place+".name", s.Name); err != nil {
			return nil, err
		}
		if cat.subevents[s.Name] {
			return nil, bad(place+".name", "duplicate subevent %q", s.Name)
		}
		cat.subevents[s.Name] = true
		if s.DateFrom != "" {
			if s.From, err = parseTime(place+".date_from", s.DateFrom); err != nil {
				return nil, err
			}
		}
		if s.DateTo != "" {
			if s.To, err = parseTime(place+".date_to", s.DateTo); err != nil {
				return nil, err
			}
		}
	}
	for i := range f.Sections {
		s := &f.Sections[i]
		place := fmt.Sprintf("sections[%d]", i)
		var err error
		if s.Capacity, err = parseCapacity(place+".capacity", s.CapacityJSON, s.Capacity); err != nil {
			return nil, err
		}
		if s.Name == "" {
			return nil, bad(place+".name", "required")
		}
		if err := checkText(place+".name", s.Name); err != nil {
			return nil, err
		}
		if err := checkText(place+".description", s.Description); err != nil {
			return nil, err
		}
		if cat.sections[s.Name] {
			return nil, bad(place+".name", "duplicate section %q", s.Name)
		}
		cat.sections[s.Name] = true
	}
	for i := range f.Products {
		p := &f.Products[i]
		place := fmt.Sprintf("products[%d]", i)
		if p.Name == "" {
			return nil, bad(place+".name", "required")
		}
		if err := checkText(place+".name", p.Name); err != nil {
			return nil, err
		}
		if cat.products[p.Name] != nil {
			return nil, bad(place+".name", "duplicate product %q", p.Name)
		}
		if p.Admission == nil {
			yes := true
			p.Admission = &yes
		}
		vs := map[string]bool{}
		for j, v := range p.Variations {
			if v == "" || vs[v] {
				return nil, bad(fmt.Sprintf("%s.variations[%d]", place, j), "empty or duplicate variation %q", v)
			}
			if err := checkText(fmt.Sprintf("%s.variations[%d]", place, j), v); err != nil {
				return nil, err
			}
			vs[v] = true
		}
		cat.products[p.Name] = vs
	}
	return cat, nil
}

// validateLists checks the lists against the catalog.
func (f *ImportFile) validateLists(cat *importCatalog) error {
	lists := map[string]bool{}
	defaults := 0
	for i := range f.Lists {
		l := &f.Lists[i]
		place := fmt.Sprintf("lists[%d]", i)
		if l.Name == "" {
			return bad(place+".name", "required")
		}
		if err := checkText(place+".name", l.Name); err != nil {
			return err
		}
		if lists[l.Name] {
			return bad(place+".name", "duplicate list %q", l.Name)
		}
		lists[l.Name] = true
		for j, p := range l.Products {
			if cat.products[p] == nil {
				return bad(fmt.Sprintf("%s.products[%d]", place, j), "unknown product %q", p)
			}
		}
		for j, s := range l.Sections {
			if !cat.sections[s] {
				return bad(fmt.Sprintf("%s.sections[%d]", place, j), "unknown section %q", s)
			}
		}
		if l.Subevent != "" && !cat.subevents[l.Subevent] {
			return bad(place+".subevent", "unknown subevent %q", l.Subevent)
		}
		var err error
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
	return nil
}

// checkOrder checks an order and its tickets against the catalog, sets
// their places (at is the order's), and with dups refuses a value used
// twice in the file.
func (cat *importCatalog) checkOrder(o *ImportOrder, at Place, dups *importDups) error {
	o.Where = at
	if o.Code == "" {
		return bad(at.Field("code"), "required")
	}
	for _, c := range []struct{ field, v string }{{"code", o.Code}, {"email", o.Email}, {"name", o.Name}} {
		if err := checkText(at.Field(c.field), c.v); err != nil {
			return err
		}
	}
	if dups != nil {
		if dups.codes[o.Code] {
			return bad(at.Field("code"), "duplicate order code %q", o.Code)
		}
		dups.codes[o.Code] = true
	}
	if o.Status == "" {
		o.Status = string(OrderPaid)
	}
	if !OrderStatus(o.Status).Valid() {
		return bad(at.Field("status"), "must be paid, pending or canceled, not %q", o.Status)
	}
	if o.UUID != "" && !ValidUUID(o.UUID) {
		return bad(at.Field("uuid"), "not a UUID: %q", o.UUID)
	}
	n := len(o.Tickets)
	for j := range o.Tickets {
		n += len(o.Tickets[j].Addons)
	}
	if n > MaxOrderTickets {
		return bad(at.Field("tickets"), "%d tickets: an order may have at most %d (add-ons included)", n, MaxOrderTickets)
	}
	for j := range o.Tickets {
		tp := o.Tickets[j].Where // CSV: the ticket's row
		if at.Row == 0 {
			tp = ticketPlace(at.Order, j)
		}
		if err := cat.checkTicket(&o.Tickets[j], tp, false, dups); err != nil {
			return err
		}
	}
	return nil
}

func (cat *importCatalog) checkTicket(t *ImportTicket, at Place, addon bool, dups *importDups) error {
	t.Where = at
	for _, c := range []struct{ field, v string }{{"product", t.Product}, {"price", t.Price}, {"first_name", t.FirstName},
		{"last_name", t.LastName}, {"email", t.Email}, {"section", t.Section}, {"subevent", t.Subevent},
		{"secret", t.Secret}, {"serial", t.Serial}} {
		if err := checkText(at.Field(c.field), c.v); err != nil {
			return err
		}
	}
	if t.Variation != nil {
		if err := checkText(at.Field("variation"), *t.Variation); err != nil {
			return err
		}
		if *t.Variation == "" {
			t.Variation = nil
		}
	}
	if cat.open {
		if strings.TrimSpace(t.Product) == "" {
			return bad(at.Field("product"), "required")
		}
		if t.Variation != nil {
			return bad(at.Field("variation"), "not supported here")
		}
	} else {
		vs, ok := cat.products[t.Product]
		if !ok {
			return bad(at.Field("product"), "unknown product %q", t.Product)
		}
		if t.Variation != nil && !vs[*t.Variation] {
			return bad(at.Field("variation"), "unknown variation %q of product %q", *t.Variation, t.Product)
		}
		if t.Section != "" && !cat.sections[t.Section] {
			return bad(at.Field("section"), "unknown section %q", t.Section)
		}
		if t.Subevent != "" && !cat.subevents[t.Subevent] {
			return bad(at.Field("subevent"), "unknown subevent %q", t.Subevent)
		}
	}
	if t.UUID != "" {
		if !ValidUUID(t.UUID) {
			return bad(at.Field("uuid"), "not a UUID: %q", t.UUID)
		}
		t.UUID = strings.ToLower(t.UUID)
	}
	if dups != nil {
		for _, c := range []struct {
			field, v string
			seen     map[string]string
		}{{"uuid", t.UUID, dups.uuids}, {"secret", t.Secret, dups.secrets}, {"serial", t.Serial, dups.serials}} {
			if c.v == "" {
				continue
			}
			if other, dup := c.seen[c.v]; dup {
				if c.field == "secret" {
					return bad(at.Field(c.field), "duplicate secret (also at %s)", other)
				}
				return bad(at.Field(c.field), "duplicate %s %q (also at %s)", c.field, c.v, other)
			}
			c.seen[c.v] = at.String()
		}
	}
	var err error
	if t.From, err = parseOptTime(at.Field("valid_from"), t.ValidFrom); err != nil {
		return err
	}
	if t.Until, err = parseOptTime(at.Field("valid_until"), t.ValidUntil); err != nil {
		return err
	}
	if t.From != nil && t.Until != nil && t.Until.Before(*t.From) {
		return bad(at.Field("valid_until"), "before valid_from")
	}
	if addon && len(t.Addons) > 0 {
		return bad(at.Field("addons"), "an add-on cannot have add-ons")
	}
	for k := range t.Addons {
		if err := cat.checkTicket(&t.Addons[k], addonPlace(at.Order, at.Ticket, k), true, dups); err != nil {
			return err
		}
	}
	return nil
}
