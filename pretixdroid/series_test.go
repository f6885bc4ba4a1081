package pretixdroid_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/pretixdroid"
)

const (
	secDay1  = "dayone00000000000000000000000001" // Day 1, paid
	secDay1b = "dayone00000000000000000000000002" // Day 1, paid
	secDay2  = "daytwo00000000000000000000000001" // Day 2, paid
	secDay2p = "daytwo00000000000000000000000002" // Day 2, pending order
)

// seriesFixture is an event series with two dates, a list for every date
// and a list bound to day 1, two tickets on day 1 and two on day 2 (one
// of a pending order).
const seriesFixture = `{
  "organizer": {"slug": "demoorga", "name": "Demo Organizer"},
  "event": {"slug": "festival", "name": "Festival", "date_from": "2030-07-01T10:00:00Z", "date_to": "2030-07-03T23:00:00Z",
    "subevents": [
      {"name": "Day 1", "date_from": "2030-07-01T10:00:00Z", "date_to": "2030-07-01T23:00:00Z"},
      {"name": "Day 2", "date_from": "2030-07-02T10:00:00Z", "date_to": "2030-07-02T23:00:00Z"}
    ]},
  "products": [{"name": "Day pass"}],
  "lists": [{"name": "All days", "default": true}, {"name": "Day 1 gate", "subevent": "Day 1"}],
  "orders": [
    {"code": "DAY1A", "tickets": [{"product": "Day pass", "subevent": "Day 1", "first_name": "Dora", "last_name": "Festivalgoer", "secret": "` + secDay1 + `"}]},
    {"code": "DAY1B", "tickets": [{"product": "Day pass", "subevent": "Day 1", "first_name": "Dina", "last_name": "Festivalgoer", "secret": "` + secDay1b + `"}]},
    {"code": "DAY2A", "tickets": [{"product": "Day pass", "subevent": "Day 2", "first_name": "Dan", "last_name": "Festivalgoer", "secret": "` + secDay2 + `"}]},
    {"code": "DAY2P", "status": "pending", "tickets": [{"product": "Day pass", "subevent": "Day 2", "first_name": "Pat", "last_name": "Festivalgoer", "secret": "` + secDay2p + `"}]}
  ]
}`

type series struct {
	env        *admittest.Env
	day1, day2 int64
	// allDays: a key on the list for every date, made without a date (as
	// `admit pretixdroid key --list "All days"`): the URL selects the date.
	// allDaysSetup2: a key on that list made with --subevent "Day 2": its
	// setup URL names day 2, which binds it to nothing. day1Key: a key on
	// the list bound to day 1.
	allDays, allDaysSetup2, day1Key string
	setup2                          pretixdroid.Setup
	plainKey                        string // a key of an event that is no series
}

func newSeries(t *testing.T) *series {
	t.Helper()
	env := admittest.Start(t)
	res := env.Import(t, seriesFixture)
	env.Import(t, otherFixture)
	s := &series{env: env}
	for _, sub := range res.Subevents {
		switch sub.Name {
		case "Day 1":
			s.day1 = sub.ID
		case "Day 2":
			s.day2 = sub.ID
		}
	}
	if s.day1 == 0 || s.day2 == 0 {
		t.Fatalf("import made subevents %+v", res.Subevents)
	}
	s.allDays = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "festival", List: "All days"})
	k, err := env.Core.CreatePretixdroidKey(context.Background(),
		admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "festival", List: "All days", Subevent: "Day 2"})
	if err != nil {
		t.Fatal(err)
	}
	s.allDaysSetup2, s.setup2 = k.Plain, pretixdroid.SetupFor(env.URL, k)
	s.day1Key = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "festival", List: "Day 1 gate"})
	s.plainKey = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "othercon"})
	return s
}

func (s *series) base(sub any) string {
	if sub == nil {
		return "/pretixdroid/api/demoorga/festival/"
	}
	return fmt.Sprintf("/pretixdroid/api/demoorga/festival/%v/", sub)
}

// Every answer of pretix for the date in the URL: a list for every date
// takes the URL's date (a date the key's setup named binds nothing), no
// date there is 403 "No subevent selected.", an unknown one 404; a list
// bound to a date refuses any other. The same on each endpoint.
func TestSubeventRoutingAnswersAsPretix(t *testing.T) {
	t.Parallel()
	s := newSeries(t)
	cases := []struct {
		name    string
		base    string
		key     string
		status  int
		body    string // for errors
		dayName string // for 200: the status's event name
	}{
		{"all dates, no date in the URL", s.base(nil), s.allDays, 403, "No subevent selected.", ""},
		{"all dates, the URL selects day 1", s.base(s.day1), s.allDays, 200, "", "Day 1"},
		{"all dates, the URL selects day 2", s.base(s.day2), s.allDays, 200, "", "Day 2"},
		{"all dates, an unknown date id", s.base(999999), s.allDays, 404, "Unknown subevent", ""},
		{"all dates, a date id that is no number", s.base("abc"), s.allDays, 404, "Unknown subevent", ""},
		{"all dates set up for day 2, the URL selects day 1", s.base(s.day1), s.allDaysSetup2, 200, "", "Day 1"},
		{"all dates set up for day 2, the URL selects day 2", s.base(s.day2), s.allDaysSetup2, 200, "", "Day 2"},
		{"all dates set up for day 2, no date in the URL", s.base(nil), s.allDaysSetup2, 403, "No subevent selected.", ""},
		{"list bound to day 1, URL names day 2", s.base(s.day2), s.day1Key, 403, "Invalid subevent selected.", ""},
		{"list bound to day 1, URL names an unknown date", s.base(999999), s.day1Key, 403, "Invalid subevent selected.", ""},
		{"list bound to day 1, URL names day 1", s.base(s.day1), s.day1Key, 200, "", "Day 1"},
		{"list bound to day 1, no date in the URL", s.base(nil), s.day1Key, 200, "", "Day 1"},
		{"the key is checked before the date", s.base(999999), "wrong", 403, "Invalid key", ""},
		{"the event is checked before the key", "/pretixdroid/api/demoorga/nofest/1/", "wrong", 404, "Unknown event", ""},
		{"a date on an event that is no series", "/pretixdroid/api/demoorga/othercon/1/", s.plainKey, 403, "Subevents not enabled.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.status != 200 {
				for _, ep := range []string{"status/", "search/", "download/"} {
					wantText(t, get(t, s.env, c.base, ep, c.key, url.Values{"query": {"Festivalgoer"}}), c.status, c.body)
				}
				wantText(t, redeem(t, s.env, c.base, c.key, url.Values{"secret": {secDay1}}), c.status, c.body)
				return
			}
			var st statusAnswer
			decodeJSON(t, get(t, s.env, c.base, "status/", c.key, nil), &st)
			if st.Event.Name != c.dayName || st.Event.Slug != "festival" {
				t.Errorf("status event = %+v, want %s", st.Event, c.dayName)
			}
		})
	}
}

// A date selected by the URL scopes redeem, search, download and status
// exactly as a list bound to that date does: that date's tickets only,
// check-ins counted per list.
func TestSubeventScopeIsTheSelectedDatesOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	s := newSeries(t)
	type day struct {
		name       string
		id         int64
		from, to   string
		own, other string   // a paid ticket of the date, and one of the other date
		search     []string // the date's tickets (pending ones too)
		download   []string // the date's paid tickets (the list takes no pending order)
	}
	days := []day{
		{"Day 1", s.day1, "2030-07-01T10:00:00Z", "2030-07-01T23:00:00Z", secDay1, secDay2, []string{secDay1, secDay1b}, []string{secDay1, secDay1b}},
		{"Day 2", s.day2, "2030-07-02T10:00:00Z", "2030-07-02T23:00:00Z", secDay2, secDay1, []string{secDay2, secDay2p}, []string{secDay2}},
	}
	conform := func(t *testing.T, base, key, list string, d day, checkins int) {
		t.Helper()
		var a resultsAnswer
		decodeJSON(t, get(t, s.env, base, "search/", key, url.Values{"query": {"Festivalgoer"}}), &a)
		if got := secrets(a.Results); !slices.Equal(got, d.search) {
			t.Errorf("search %v, want %v", got, d.search)
		}
		decodeJSON(t, get(t, s.env, base, "download/", key, nil), &a)
		if got := secrets(a.Results); !slices.Equal(got, d.download) {
			t.Errorf("download %v, want %v", got, d.download)
		}
		var st statusAnswer
		decodeJSON(t, get(t, s.env, base, "status/", key, nil), &st)
		if st.Total != len(d.download) || st.Checkins != checkins || len(st.Items) != 1 ||
			st.Items[0].Total != len(d.download) || st.Items[0].Checkins != checkins {
			t.Errorf("status total %d checkins %d items %+v, want %d and %d", st.Total, st.Checkins, st.Items, len(d.download), checkins)
		}
		if id, _ := st.Event.Subevent.(float64); int64(id) != d.id || st.Event.Name != d.name || st.Event.List != list ||
			showS(st.Event.DateFrom) != d.from || showS(st.Event.DateTo) != d.to {
			t.Errorf("status event = %+v (from %s to %s), want %s", st.Event, showS(st.Event.DateFrom), showS(st.Event.DateTo), d.name)
		}
	}
	redeemWants := func(t *testing.T, base, key, secret, reason string) {
		t.Helper()
		a := redeemJSON(t, s.env, base, key, url.Values{"secret": {secret}})
		if a.Reason != reason || (reason == "" && a.Status != "ok") {
			t.Fatalf("redeem %s: %+v, want reason %q", secret, a, reason)
		}
		if reason == "unknown_ticket" && a.Data != nil {
			t.Errorf("unknown_ticket with data %s", show(*a.Data))
		}
	}
	for _, d := range days {
		t.Run("all dates, the URL selects "+d.name, func(t *testing.T) {
			base := s.base(d.id)
			conform(t, base, s.allDays, "All days", d, 0)
			redeemWants(t, base, s.allDays, d.other, "unknown_ticket")
			redeemWants(t, base, s.allDays, d.own, "")
			redeemWants(t, base, s.allDays, d.own, "already_redeemed")
			conform(t, base, s.allDays, "All days", d, 1)
		})
	}
	t.Run("all dates set up for day 2, the URL selects day 1", func(t *testing.T) {
		base := s.base(s.day1)
		redeemWants(t, base, s.allDaysSetup2, secDay2, "unknown_ticket")
		redeemWants(t, base, s.allDaysSetup2, secDay1b, "")
		conform(t, base, s.allDaysSetup2, "All days", days[0], 2)
	})
	t.Run("the list bound to day 1, no date in the URL", func(t *testing.T) {
		base := s.base(nil)
		// Check-ins are per list: day 1's tickets entered on "All days" only.
		conform(t, base, s.day1Key, "Day 1 gate", days[0], 0)
		redeemWants(t, base, s.day1Key, secDay2, "unknown_ticket")
		redeemWants(t, base, s.day1Key, secDay1, "")
		conform(t, base, s.day1Key, "Day 1 gate", days[0], 1)
	})
}

// A key may be made for a list for every date, with or without a date
// (which then only chooses the date of the setup's URL); on a list bound to
// a date, a date given must be the list's.
func TestSeriesKeyCreation(t *testing.T) {
	t.Parallel()
	s := newSeries(t)
	cases := []struct {
		name    string
		spec    admit.PretixdroidKeySpec
		code    admit.Code
		urlDate int64 // the date the setup's URL names (0: none)
	}{
		{"a list for every date, no date", admit.PretixdroidKeySpec{List: "All days"}, "", 0},
		{"a list for every date, a date for the setup URL", admit.PretixdroidKeySpec{List: "All days", Subevent: "Day 2"}, "", s.day2},
		{"a list for every date, no date, one required", admit.PretixdroidKeySpec{List: "All days", RequireDate: true}, admit.EInvalid, 0},
		{"the default list (for every date), no date", admit.PretixdroidKeySpec{}, "", 0},
		{"a list bound to a date, no date", admit.PretixdroidKeySpec{List: "Day 1 gate", RequireDate: true}, "", 0},
		{"a list bound to a date, its own date", admit.PretixdroidKeySpec{List: "Day 1 gate", Subevent: "Day 1"}, "", s.day1},
		{"a list bound to a date, another date", admit.PretixdroidKeySpec{List: "Day 1 gate", Subevent: "Day 2"}, admit.EInvalid, 0},
		{"an unknown date", admit.PretixdroidKeySpec{Subevent: "Day 9"}, admit.ENotFound, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.Organizer, c.spec.Event = "demoorga", "festival"
			k, err := s.env.Core.CreatePretixdroidKey(context.Background(), c.spec)
			if admit.ErrorCode(err) != c.code {
				t.Fatalf("err = %v, want code %q", err, c.code)
			}
			if err != nil {
				return
			}
			u := pretixdroid.SetupFor(s.env.URL, k).URL
			want := s.env.URL + s.base(nil)
			if c.urlDate != 0 {
				want += strconv.FormatInt(c.urlDate, 10) + "/"
			}
			if u != want || k.Key.SubeventID != c.urlDate {
				t.Errorf("setup URL %s (key date %d), want %s", u, k.Key.SubeventID, want)
			}
		})
	}
	t.Run("the setup made for day 2 works as the app uses it", func(t *testing.T) {
		if !strings.HasSuffix(s.setup2.URL, "/"+strconv.FormatInt(s.day2, 10)+"/") {
			t.Fatalf("setup URL %s", s.setup2.URL)
		}
		r := admittest.Do(t, "GET", s.setup2.URL+"status/?key="+url.QueryEscape(s.setup2.Key), nil)
		var st statusAnswer
		decodeJSON(t, r, &st)
		if st.Event.Name != "Day 2" {
			t.Errorf("status event %+v", st.Event)
		}
	})
}
