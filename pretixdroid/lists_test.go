package pretixdroid_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

type statusAnswer struct {
	Version int `json:"version"`
	Event   struct {
		Name      string  `json:"name"`
		List      string  `json:"list"`
		Slug      string  `json:"slug"`
		Subevent  any     `json:"subevent"`
		DateFrom  *string `json:"date_from"`
		DateTo    *string `json:"date_to"`
		Timezone  string  `json:"timezone"`
		URL       string  `json:"url"`
		Organizer struct {
			Name string `json:"name"`
			Slug string `json:"slug"`
		} `json:"organizer"`
	} `json:"event"`
	Checkins int          `json:"checkins"`
	Total    int          `json:"total"`
	Items    []statusItem `json:"items"`
}

type statusItem struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Admission  bool   `json:"admission"`
	Checkins   int    `json:"checkins"`
	Total      int    `json:"total"`
	Variations []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		Checkins int    `json:"checkins"`
		Total    int    `json:"total"`
	} `json:"variations"`
}

// item finds a product's counts in a status answer.
func (s statusAnswer) item(t *testing.T, name string) statusItem {
	t.Helper()
	for _, it := range s.Items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("status has no item %q", name)
	return statusItem{}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestSearch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}})
	cases := []struct {
		name  string
		key   *string
		query string
		want  []string
	}{
		{"three characters give nothing", &f.keyMain, "Hig", nil},
		{"no query gives nothing", &f.keyMain, "", nil},
		{"attendee name contains", &f.keyMain, "eter Hig", []string{secHiggs}},
		{"name is case-insensitive", &f.keyMain, "CURIE", []string{secCurie}},
		{"order code prefix finds every ticket of the order", &f.keyMain, "PAID1", []string{secHiggs, secShirt, secWSAddon}},
		{"order code prefix is case-insensitive", &f.keyMain, "paid2", []string{secCurie}},
		{"order code must be a prefix", &f.keyMain, "AID1", nil},
		{"secret prefix", &f.keyMain, "higgs000", []string{secHiggs}},
		{"secret must be a prefix", &f.keyMain, "00000000000000a", nil},
		{"all tickets of the list whatever their state", &f.keyMain, "Pending", []string{secPending, secPending2}},
		{"without search: no name", &f.keyNoSearch, "Marie", nil},
		{"without search: no order code", &f.keyNoSearch, "PAID2", nil},
		{"without search: secret prefix", &f.keyNoSearch, "curie000", []string{secCurie}},
		{"restricted to the list's products", &f.keyWorkshop, "Higgs", nil},
		{"the list's products are found", &f.keyWorkshop, "PAID1", []string{secWSAddon}},
		{"restricted to the key's event", &f.keyMain, "otherevent", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a resultsAnswer
			decodeJSON(t, get(t, f.env, mainBase, "search/", *c.key, url.Values{"query": {c.query}}), &a)
			if a.Version != 3 || a.Results == nil {
				t.Fatalf("answer = %+v, want version 3 and a results array", a)
			}
			if got := sorted(secrets(a.Results)); !slices.Equal(got, sorted(c.want)) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("results %v, want %v", got, c.want)
			}
		})
	}
	t.Run("results describe tickets with their state on the key's list", func(t *testing.T) {
		for _, c := range []struct {
			key      *string
			redeemed bool
		}{{&f.keyMain, true}, {&f.keySide, false}} {
			var a resultsAnswer
			decodeJSON(t, get(t, f.env, mainBase, "search/", *c.key, url.Values{"query": {"Curie"}}), &a)
			want := position{Secret: secCurie, Order: "PAID2", Item: "Ticket", ItemID: f.ticket(t, secCurie).ProductID,
				AttendeeName: ptr("Marie Curie"), Redeemed: c.redeemed, Paid: true, CheckinAllowed: true}
			if len(a.Results) != 1 || !samePosition(a.Results[0], want) {
				t.Errorf("results %v, want %s", a.Results, show(want))
			}
		}
		var a resultsAnswer
		decodeJSON(t, get(t, f.env, mainBase, "search/", f.keyMain, url.Values{"query": {"Higgs"}}), &a)
		if len(a.Results) != 1 || a.Results[0].AddonsText != "T-Shirt - Red, Workshop" || a.Results[0].Redeemed {
			t.Errorf("Higgs = %v, want add-ons text and not redeemed", a.Results)
		}
		decodeJSON(t, get(t, f.env, mainBase, "search/", f.keyPending, url.Values{"query": {"Paula"}}), &a)
		if len(a.Results) != 1 || a.Results[0].Paid || !a.Results[0].CheckinAllowed {
			t.Errorf("pending on an include_pending list = %v, want unpaid and check-in allowed", a.Results)
		}
	})
}

// At most 25 results.
func TestSearchLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var tickets []string
	for i := 0; i < 30; i++ {
		tickets = append(tickets, fmt.Sprintf(`{"product": "Ticket", "first_name": "Anna", "last_name": "Smith %d"}`, i))
	}
	f.env.Import(t, `{"organizer": {"slug": "demoorga"}, "event": {"slug": "bulkcon"}, "products": [{"name": "Ticket"}],
		"orders": [{"code": "BULK1", "tickets": [`+strings.Join(tickets, ",")+`]}]}`)
	key := newKey(t, f.env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "bulkcon"})
	var a resultsAnswer
	decodeJSON(t, get(t, f.env, "/pretixdroid/api/demoorga/bulkcon/", "search/", key, url.Values{"query": {"Smith"}}), &a)
	if len(a.Results) != 25 {
		t.Errorf("%d results, want 25", len(a.Results))
	}
	decodeJSON(t, get(t, f.env, "/pretixdroid/api/demoorga/bulkcon/", "search/", key, url.Values{"query": {"Smith 2"}}), &a)
	if len(a.Results) != 11 { // Smith 2, Smith 20..29
		t.Errorf("%d results for Smith 2, want 11", len(a.Results))
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, s := range []string{secHiggs, secShirt, secCurie} {
		if a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {s}}); a.Status != "ok" {
			t.Fatalf("redeem %s = %+v", s, a)
		}
	}
	// A forced check-in of a pending ticket is not counted: only paid
	// tickets are.
	redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secPending}, "force": {"true"}})

	var s statusAnswer
	decodeJSON(t, get(t, f.env, mainBase, "status/", f.keyMain, nil), &s)
	t.Run("event block", func(t *testing.T) {
		e := s.Event
		if s.Version != 3 || e.Name != "Demo Conference" || e.Slug != "democon" || e.List != "Main" ||
			e.Timezone != "Europe/Berlin" || e.URL != f.env.URL+"/demoorga/democon/" ||
			e.Organizer.Name != "Demo Organizer" || e.Organizer.Slug != "demoorga" || e.Subevent != "Demo Conference" {
			t.Errorf("event = %+v", e)
		}
		if e.DateFrom == nil || *e.DateFrom != "2030-12-27T17:00:00Z" || e.DateTo == nil || *e.DateTo != "2030-12-30T18:00:00Z" {
			t.Errorf("dates %v %v", showS(e.DateFrom), showS(e.DateTo))
		}
	})
	t.Run("counts of paid tickets on the list", func(t *testing.T) {
		// Paid: Higgs, his shirt and workshop add-ons, Curie, Bob (blocked),
		// Tina (expired), Walter: 7; entered: Higgs, shirt, Curie.
		if s.Total != 7 || s.Checkins != 3 {
			t.Errorf("total %d checkins %d, want 7 and 3", s.Total, s.Checkins)
		}
		names := []string{}
		for _, it := range s.Items {
			names = append(names, it.Name)
		}
		if !slices.Equal(names, []string{"Ticket", "T-Shirt", "Workshop"}) {
			t.Errorf("items %v, want every product", names)
		}
		ticket, shirt, ws := s.item(t, "Ticket"), s.item(t, "T-Shirt"), s.item(t, "Workshop")
		if ticket.Total != 4 || ticket.Checkins != 2 || !ticket.Admission || len(ticket.Variations) != 0 || ticket.Variations == nil {
			t.Errorf("Ticket = %+v, want 4 total, 2 checkins, admission, no variations", ticket)
		}
		if shirt.Total != 1 || shirt.Checkins != 1 || shirt.Admission || len(shirt.Variations) != 2 {
			t.Fatalf("T-Shirt = %+v, want 1/1, no admission, 2 variations", shirt)
		}
		red, blue := shirt.Variations[0], shirt.Variations[1]
		if red.Name != "Red" || red.Total != 1 || red.Checkins != 1 || red.ID != f.ticket(t, secShirt).VariationID ||
			blue.Name != "Blue" || blue.Total != 0 || blue.Checkins != 0 || blue.ID == 0 {
			t.Errorf("variations = %+v", shirt.Variations)
		}
		if ws.Total != 2 || ws.Checkins != 0 || ws.ID != f.ticket(t, secWorkshop).ProductID {
			t.Errorf("Workshop = %+v, want 2/0", ws)
		}
	})
	t.Run("another list counts its own products and check-ins", func(t *testing.T) {
		var w statusAnswer
		decodeJSON(t, get(t, f.env, mainBase, "status/", f.keyWorkshop, nil), &w)
		if w.Total != 2 || w.Checkins != 0 || len(w.Items) != 3 || w.item(t, "Ticket").Total != 0 || w.Event.List != "Workshop only" {
			t.Errorf("workshop status = total %d checkins %d items %+v", w.Total, w.Checkins, w.Items)
		}
		redeemJSON(t, f.env, mainBase, f.keyWorkshop, url.Values{"secret": {secWorkshop}})
		decodeJSON(t, get(t, f.env, mainBase, "status/", f.keyWorkshop, nil), &w)
		if w.Checkins != 1 || w.item(t, "Workshop").Checkins != 1 {
			t.Errorf("after a check-in: %d checkins", w.Checkins)
		}
	})
}

func TestDownload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}})
	paidAdmissible := []string{secHiggs, secShirt, secWSAddon, secCurie, secExpired, secWorkshop}
	cases := []struct {
		name     string
		key      *string
		want     []string
		redeemed []string
	}{
		{"paid, unblocked tickets of the list", &f.keyMain, paidAdmissible, []string{secCurie}},
		{"pending too where the list accepts them", &f.keyPending, append(slices.Clone(paidAdmissible), secPending, secPending2), nil},
		{"only the list's products", &f.keyWorkshop, []string{secWSAddon, secWorkshop}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a resultsAnswer
			decodeJSON(t, get(t, f.env, mainBase, "download/", *c.key, nil), &a)
			if a.Version != 3 || a.Questions == nil {
				t.Errorf("version %d questions %v", a.Version, a.Questions)
			}
			if got := sorted(secrets(a.Results)); !slices.Equal(got, sorted(c.want)) {
				t.Errorf("results %v, want %v", got, sorted(c.want))
			}
			for _, p := range a.Results {
				if p.Redeemed != slices.Contains(c.redeemed, p.Secret) {
					t.Errorf("%s redeemed = %v", p.Secret, p.Redeemed)
				}
				if p.Secret == secHiggs && p.AddonsText != "T-Shirt - Red, Workshop" {
					t.Errorf("Higgs's add-ons text %q", p.AddonsText)
				}
				if p.Secret == secShirt && (p.Variation == nil || *p.Variation != "Red") {
					t.Errorf("shirt = %s", show(p))
				}
				if (p.Secret == secPending) && (p.Paid || !p.CheckinAllowed) {
					t.Errorf("pending = %s, want unpaid and check-in allowed", show(p))
				}
			}
		})
	}
}

func showS(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
