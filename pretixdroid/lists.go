package pretixdroid

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

const (
	searchMinChars = 4
	searchLimit    = 25
)

// position is pretix's description of a ticket (an order position): the
// "data" of a redeem answer and each result of search/ and download/.
type position struct {
	Secret         string  `json:"secret"`
	Order          string  `json:"order"`
	Item           string  `json:"item"`
	ItemID         int64   `json:"item_id"`
	Variation      *string `json:"variation"`
	VariationID    *int64  `json:"variation_id"`
	AttendeeName   *string `json:"attendee_name"`
	Attention      bool    `json:"attention"`
	Redeemed       bool    `json:"redeemed"`
	Paid           bool    `json:"paid"`
	CheckinAllowed bool    `json:"checkin_allowed"`
	AddonsText     string  `json:"addons_text"`
}

// positionOf describes t; state is its state on the key's list (nil: never
// scanned there), checkinAllowed the core's flag for t on that list.
func positionOf(t *admit.Ticket, state *admit.CheckinState, checkinAllowed bool, addons string) position {
	p := position{
		Secret:         t.Secret,
		Order:          t.OrderCode,
		Item:           t.ProductName,
		ItemID:         t.ProductID,
		Redeemed:       state != nil && state.Entries > 0,
		Paid:           t.OrderStatus == admit.OrderPaid,
		CheckinAllowed: checkinAllowed,
		AddonsText:     addons,
	}
	if t.VariationID != 0 {
		name, id := t.VariationName, t.VariationID
		p.Variation, p.VariationID = &name, &id
	}
	name := t.AttendeeName()
	if name == "" {
		name = t.OrderName
	}
	if name != "" {
		p.AttendeeName = &name
	}
	return p
}

// addonText names an add-on as pretix does: "Item - Variation", or "Item".
func addonText(t *admit.Ticket) string {
	if t.VariationID != 0 {
		return t.ProductName + " - " + t.VariationName
	}
	return t.ProductName
}

// addonsText joins the add-ons' names with ", ".
func addonsText(addons []*admit.Ticket) string {
	names := make([]string, len(addons))
	for i, a := range addons {
		names[i] = addonText(a)
	}
	return strings.Join(names, ", ")
}

// checkinAllowed is the core's flag for t on the scope's list, as a scan
// now would compute it.
func (h *Handler) checkinAllowed(s *scope, t *admit.Ticket) bool {
	return admit.Decide(admit.DecideInput{Ticket: t, List: s.list, At: h.core.Now(), Type: admit.ScanEntry}).CheckinAllowed
}

type resultsAnswer struct {
	Results   []position `json:"results"`
	Version   int        `json:"version"`
	Questions *[]any     `json:"questions,omitempty"`
}

// search is GET search/?query=: at most 25 tickets of the list's products
// and date whose attendee name contains the query, whose order code or
// secret starts with it; a key without allow_search matches secrets only.
func (h *Handler) search(w http.ResponseWriter, r *http.Request, s *scope) error {
	query := r.URL.Query().Get("query")
	ans := resultsAnswer{Results: []position{}, Version: APIVersion}
	if utf8.RuneCountInString(query) < searchMinChars {
		return h.writeJSON(w, ans)
	}
	if admit.TooLong(query, admit.MaxSearch) {
		return admit.Errorf(admit.EInvalid, "The search query is longer than %d characters.", admit.MaxSearch)
	}
	fields := admit.SearchSecretPrefix
	if s.key.AllowSearch {
		fields |= admit.SearchName | admit.SearchOrderCodePrefix
	}
	ctx := r.Context()
	tickets, _, err := h.core.Store.FindTickets(ctx, admit.TicketFilter{
		EventID: s.event.ID, List: s.list, SubeventID: s.subeventID(),
		Query: query, Fields: fields, StateListID: s.list.ID, Limit: searchLimit,
	})
	if err != nil {
		return err
	}
	for _, t := range tickets {
		addons, err := h.core.Store.Addons(ctx, t.ID)
		if err != nil {
			return err
		}
		ans.Results = append(ans.Results, positionOf(t, t.State, h.checkinAllowed(s, t), addonsText(addons)))
	}
	return h.writeJSON(w, ans)
}

// download is GET download/ (version 3): every admissible ticket of the
// list's products and date, for an app that scans offline.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, s *scope) error {
	ctx := r.Context()
	tickets, _, err := h.core.Store.FindTickets(ctx, admit.TicketFilter{
		EventID: s.event.ID, List: s.list, SubeventID: s.subeventID(),
		Admissible: true, IncludePending: s.list.IncludePending, StateListID: s.list.ID,
	})
	if err != nil {
		return err
	}
	// The add-ons of every ticket in one query rather than one per ticket.
	all, _, err := h.core.Store.FindTickets(ctx, admit.TicketFilter{EventID: s.event.ID})
	if err != nil {
		return err
	}
	addons := map[int64][]*admit.Ticket{}
	for _, t := range all {
		if t.ParentID != 0 {
			addons[t.ParentID] = append(addons[t.ParentID], t)
		}
	}
	ans := resultsAnswer{Results: make([]position, 0, len(tickets)), Version: APIVersion, Questions: &[]any{}}
	for _, t := range tickets {
		ans.Results = append(ans.Results, positionOf(t, t.State, h.checkinAllowed(s, t), addonsText(addons[t.ID])))
	}
	return h.writeJSON(w, ans)
}

type statusAnswer struct {
	Version  int          `json:"version"`
	Event    statusEvent  `json:"event"`
	Checkins int          `json:"checkins"`
	Total    int          `json:"total"`
	Items    []statusItem `json:"items"`
}

type statusEvent struct {
	Name      string          `json:"name"`
	List      string          `json:"list"`
	Slug      string          `json:"slug"`
	Organizer statusOrganizer `json:"organizer"`
	// Subevent is the date's id, or the event's name when it is no series
	// (as pretix answers).
	Subevent any     `json:"subevent"`
	DateFrom *string `json:"date_from"`
	DateTo   *string `json:"date_to"`
	Timezone string  `json:"timezone"`
	URL      string  `json:"url"`
}

type statusOrganizer struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

type statusItem struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Admission  bool              `json:"admission"`
	Checkins   int               `json:"checkins"`
	Total      int               `json:"total"`
	Variations []statusVariation `json:"variations"`
}

type statusVariation struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Checkins int    `json:"checkins"`
	Total    int    `json:"total"`
}

// status is GET status/: the paid tickets of the list's products and date,
// and how many of them entered on the list, overall and per product and
// variation, with every product of the event.
func (h *Handler) status(w http.ResponseWriter, r *http.Request, s *scope) error {
	ctx := r.Context()
	counts, err := h.core.Store.TicketCounts(ctx, admit.TicketFilter{
		EventID: s.event.ID, List: s.list, SubeventID: s.subeventID(), PaidOnly: true,
	}, s.list.ID)
	if err != nil {
		return err
	}
	products, err := h.core.Store.Products(ctx, s.event.ID)
	if err != nil {
		return err
	}
	type key struct{ product, variation int64 }
	byVariation := map[key]admit.TicketCount{}
	byProduct := map[int64]admit.TicketCount{}
	ans := statusAnswer{Version: APIVersion, Items: make([]statusItem, 0, len(products))}
	for _, c := range counts {
		k := key{c.ProductID, c.VariationID}
		v := byVariation[k]
		v.Total += c.Total
		v.Checkins += c.Checkins
		byVariation[k] = v
		p := byProduct[c.ProductID]
		p.Total += c.Total
		p.Checkins += c.Checkins
		byProduct[c.ProductID] = p
		ans.Total += c.Total
		ans.Checkins += c.Checkins
	}
	for _, p := range products {
		c := byProduct[p.ID]
		item := statusItem{ID: p.ID, Name: p.Name, Admission: p.Admission, Checkins: c.Checkins, Total: c.Total,
			Variations: make([]statusVariation, 0, len(p.Variations))}
		for _, v := range p.Variations {
			vc := byVariation[key{p.ID, v.ID}]
			item.Variations = append(item.Variations, statusVariation{ID: v.ID, Name: v.Name, Checkins: vc.Checkins, Total: vc.Total})
		}
		ans.Items = append(ans.Items, item)
	}
	ev := statusEvent{
		Name: s.event.Name, List: s.list.Name, Slug: s.event.Slug,
		Organizer: statusOrganizer{Name: s.org.Name, Slug: s.org.Slug},
		Subevent:  s.event.Name,
		DateFrom:  jsonTime(s.event.DateFrom), DateTo: jsonTime(s.event.DateTo),
		Timezone: s.event.Timezone,
		URL:      h.opts.PublicURL + "/" + url.PathEscape(s.org.Slug) + "/" + url.PathEscape(s.event.Slug) + "/",
	}
	if sub := s.subevent; sub != nil {
		ev.Name, ev.Subevent = sub.Name, sub.ID
		ev.DateFrom, ev.DateTo = jsonTime(sub.DateFrom), jsonTime(sub.DateTo)
	}
	ans.Event = ev
	return h.writeJSON(w, ans)
}

// jsonTime writes a time as Django's JSON encoder does, in UTC:
// 2016-12-27T17:00:00Z, with milliseconds when there are any; nil for none.
func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	layout := "2006-01-02T15:04:05Z"
	if t.Nanosecond()/1000 != 0 { // Django keeps milliseconds when there are microseconds
		layout = "2006-01-02T15:04:05.000Z"
	}
	s := t.Format(layout)
	return &s
}
