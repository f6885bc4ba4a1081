package ticketing

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/admitdev/admit"
)

// URIs of the API's resources, relative to its root.

func eventURI(eventID int64) string { return fmt.Sprintf("/events/%d", eventID) }

func sectionURI(eventID, sectionID int64) string {
	return fmt.Sprintf("/events/%d/sections/%d", eventID, sectionID)
}

func tokenURI(eventID, tokenID int64) string {
	return fmt.Sprintf("/events/%d/tokens/%d", eventID, tokenID)
}

func accountURI(number string) string { return "/accounts/" + number }

// sectionJSON is a section object: {"self", "name", "description"}.
type sectionJSON struct {
	Self        string `json:"self"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ticketSection is the section object of a ticket. A ticket without a
// section gets section 0 of its event (the SDK needs an object with a self).
func ticketSection(t *admit.Ticket) sectionJSON {
	return sectionJSON{Self: sectionURI(t.EventID, t.SectionID), Name: t.SectionName, Description: t.SectionDescription}
}

// accountJSON is the account of a ticket's holder.
type accountJSON struct {
	Self      string `json:"self"`
	Number    string `json:"number"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// holder is the account object of a ticket's holder: the account number is
// the stable number of the holder's email, and the username the email (the
// number when the ticket has no email).
func holder(t *admit.Ticket) accountJSON {
	username := t.HolderEmail()
	if username == "" {
		username = t.HolderNumber
	}
	return accountJSON{
		Self: accountURI(t.HolderNumber), Number: t.HolderNumber, Username: username,
		Email: t.HolderEmail(), FirstName: t.FirstName, LastName: t.LastName,
	}
}

// pagination is a list's page and page size.
type pagination struct {
	page, records int
}

// Bounds of a page size.
const (
	defaultRecords = 25
	maxRecords     = 1000
)

// parsePagination reads page and records (defaults 1 and 25).
func parsePagination(q url.Values) (pagination, error) {
	p := pagination{page: 1, records: defaultRecords}
	if s := strings.TrimSpace(q.Get("records")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxRecords {
			return p, admit.Errorf(admit.EInvalid, "The argument records must be a whole number from 1 to %d.", maxRecords)
		}
		p.records = n
	}
	if s := strings.TrimSpace(q.Get("page")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, admit.Errorf(admit.EInvalid, "The argument page must be a whole number.")
		}
		if n < 1 || n > 1<<30/p.records {
			return p, errNoPage
		}
		p.page = n
	}
	return p, nil
}

func (p pagination) offset() int { return (p.page - 1) * p.records }

// check refuses a page past the last one (page 1 always exists).
func (p pagination) check(total int) error {
	if p.page > 1 && p.offset() >= total {
		return errNoPage
	}
	return nil
}

// envelope is a list's answer; records echoes the page size asked for.
func (p pagination) envelope(total int, entries any) map[string]any {
	return map[string]any{"total": total, "page": p.page, "records": p.records, "entries": entries}
}

// writeList checks the page and writes the envelope.
func (h *Handler) writeList(w http.ResponseWriter, r *http.Request, p pagination, total int, entries any) {
	if err := p.check(total); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p.envelope(total, entries))
}

// parseBool reads a boolean filter ("true"/"false", also 1/0).
func parseBool(name, s string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, admit.Errorf(admit.EInvalid, "The argument %s must be true or false.", name)
	}
	return b, nil
}

// sectionRef reads a section named by its URI (/events/E/sections/S, with
// or without the /v3 prefix or a trailing slash), its URI relative to the
// event (/sections/S) or its bare id. It returns the event id the URI names
// (0 when it names none) and the section id; ok is false when s names no
// section at all.
func sectionRef(s string) (eventID, sectionID int64, ok bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	s = strings.TrimPrefix(s, Prefix)
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	num := func(x string) (int64, bool) {
		if x == "" || len(x) > 18 || strings.Trim(x, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil && n > 0
	}
	switch {
	case len(parts) == 4 && parts[0] == "events" && parts[2] == "sections":
		e, ok1 := num(parts[1])
		sec, ok2 := num(parts[3])
		return e, sec, ok1 && ok2
	case len(parts) == 2 && parts[0] == "sections":
		sec, ok := num(parts[1])
		return 0, sec, ok
	case len(parts) == 1 && !strings.HasPrefix(s, "/"):
		sec, ok := num(parts[0])
		return 0, sec, ok
	}
	return 0, 0, false
}
