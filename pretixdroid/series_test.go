package pretixdroid_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

const (
	secDay1 = "dayone00000000000000000000000001"
	secDay2 = "daytwo00000000000000000000000001"
)

// seriesFixture is an event series with two dates, a list for every date
// and a list bound to day 1, and one ticket per date.
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
    {"code": "DAY2A", "tickets": [{"product": "Day pass", "subevent": "Day 2", "first_name": "Dan", "last_name": "Festivalgoer", "secret": "` + secDay2 + `"}]}
  ]
}`

type series struct {
	env        *admittest.Env
	day1, day2 int64
	// unbound: a key on the every-date list, made without a date (the URL
	// must select one); day1: a key on the list bound to day 1; day2: a
	// key on the every-date list made for day 2.
	unbound, day1Key, day2Key string
	plainKey                  string // a key of an event that is no series
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
	ctx := context.Background()
	all, err := env.Core.ListByName(ctx, res.Event.ID, "All days")
	if err != nil {
		t.Fatal(err)
	}
	s.unbound, err = env.Core.CreateKey(ctx, &admit.APIKey{Kind: admit.KeyPretixdroid, OrganizerID: res.Organizer.ID,
		EventID: res.Event.ID, ListID: all.ID, AllowSearch: true, ShowInfo: true})
	if err != nil {
		t.Fatal(err)
	}
	s.day1Key = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "festival", List: "Day 1 gate"})
	s.day2Key = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "festival", Subevent: "Day 2"})
	s.plainKey = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "othercon"})
	return s
}

func (s *series) base(sub any) string {
	if sub == nil {
		return "/pretixdroid/api/demoorga/festival/"
	}
	return fmt.Sprintf("/pretixdroid/api/demoorga/festival/%v/", sub)
}

// The date segment of the URL selects the date; a mismatch with the key's
// list is refused as pretix refuses it.
func TestSubeventRouting(t *testing.T) {
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
		{"no date where the list has none", s.base(nil), s.unbound, 403, "No subevent selected.", ""},
		{"the URL selects day 1", s.base(s.day1), s.unbound, 200, "", "Day 1"},
		{"the URL selects day 2", s.base(s.day2), s.unbound, 200, "", "Day 2"},
		{"unknown date id", s.base(999999), s.unbound, 404, "Unknown subevent", ""},
		{"date id that is no number", s.base("abc"), s.unbound, 404, "Unknown subevent", ""},
		{"list bound to day 1, URL names day 2", s.base(s.day2), s.day1Key, 403, "Invalid subevent selected.", ""},
		{"list bound to day 1, URL names an unknown date", s.base(999999), s.day1Key, 403, "Invalid subevent selected.", ""},
		{"list bound to day 1, URL names day 1", s.base(s.day1), s.day1Key, 200, "", "Day 1"},
		{"list bound to day 1, no date in the URL", s.base(nil), s.day1Key, 200, "", "Day 1"},
		{"key made for day 2, URL names day 1", s.base(s.day1), s.day2Key, 403, "Invalid subevent selected.", ""},
		{"key made for day 2, URL names day 2", s.base(s.day2), s.day2Key, 200, "", "Day 2"},
		{"key made for day 2, no date in the URL", s.base(nil), s.day2Key, 200, "", "Day 2"},
		{"the key is checked before the date", s.base(999999), "wrong", 403, "Invalid key", ""},
		{"the event is checked before the key", "/pretixdroid/api/demoorga/nofest/1/", "wrong", 404, "Unknown event", ""},
		{"a date on an event that is no series", "/pretixdroid/api/demoorga/othercon/1/", s.plainKey, 403, "Subevents not enabled.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.status != 200 {
				wantText(t, get(t, s.env, c.base, "status/", c.key, nil), c.status, c.body)
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

// A ticket of another date than the scan's is unknown_ticket; search,
// download and status only see the date's tickets.
func TestSubeventScope(t *testing.T) {
	t.Parallel()
	s := newSeries(t)
	redeems := []struct {
		name   string
		base   string
		key    string
		secret string
		reason string
	}{
		{"day 1 ticket on day 1", s.base(s.day1), s.unbound, secDay1, ""},
		{"day 2 ticket on day 1 is unknown", s.base(s.day1), s.unbound, secDay2, "unknown_ticket"},
		{"day 2 ticket on the day 1 list is unknown", s.base(nil), s.day1Key, secDay2, "unknown_ticket"},
		{"day 1 ticket on the day 1 list (another list)", s.base(nil), s.day1Key, secDay1, ""},
		{"day 1 ticket with the day 2 key is unknown", s.base(nil), s.day2Key, secDay1, "unknown_ticket"},
		{"day 2 ticket with the day 2 key", s.base(nil), s.day2Key, secDay2, ""},
	}
	for _, r := range redeems {
		t.Run(r.name, func(t *testing.T) {
			a := redeemJSON(t, s.env, r.base, r.key, url.Values{"secret": {r.secret}})
			if a.Reason != r.reason {
				t.Fatalf("got %+v, want reason %q", a, r.reason)
			}
			if r.reason == "unknown_ticket" && a.Data != nil {
				t.Errorf("unknown_ticket with data %s", show(*a.Data))
			}
		})
	}
	lists := []struct {
		name string
		base string
		key  string
		want []string
	}{
		{"day 1 by URL", s.base(s.day1), s.unbound, []string{secDay1}},
		{"day 2 by URL", s.base(s.day2), s.unbound, []string{secDay2}},
		{"day 1 by list", s.base(nil), s.day1Key, []string{secDay1}},
		{"day 2 by key", s.base(nil), s.day2Key, []string{secDay2}},
	}
	for _, l := range lists {
		t.Run("search and download: "+l.name, func(t *testing.T) {
			var a resultsAnswer
			decodeJSON(t, get(t, s.env, l.base, "search/", l.key, url.Values{"query": {"Festivalgoer"}}), &a)
			if got := secrets(a.Results); !slices.Equal(got, l.want) {
				t.Errorf("search %v, want %v", got, l.want)
			}
			decodeJSON(t, get(t, s.env, l.base, "download/", l.key, nil), &a)
			if got := secrets(a.Results); !slices.Equal(got, l.want) {
				t.Errorf("download %v, want %v", got, l.want)
			}
			var st statusAnswer
			decodeJSON(t, get(t, s.env, l.base, "status/", l.key, nil), &st)
			if st.Total != 1 || st.Checkins != 1 {
				t.Errorf("status total %d checkins %d, want 1 and 1", st.Total, st.Checkins)
			}
		})
	}
	t.Run("status event block is the date's", func(t *testing.T) {
		var st statusAnswer
		decodeJSON(t, get(t, s.env, s.base(nil), "status/", s.day1Key, nil), &st)
		if id, _ := st.Event.Subevent.(float64); int64(id) != s.day1 || st.Event.Name != "Day 1" || st.Event.List != "Day 1 gate" ||
			showS(st.Event.DateFrom) != "2030-07-01T10:00:00Z" || showS(st.Event.DateTo) != "2030-07-01T23:00:00Z" {
			t.Errorf("event = %+v (from %s to %s)", st.Event, showS(st.Event.DateFrom), showS(st.Event.DateTo))
		}
	})
}

// Keys of an event series need a date that fits their list.
func TestSeriesKeyCreation(t *testing.T) {
	t.Parallel()
	s := newSeries(t)
	cases := []struct {
		name string
		spec admit.PretixdroidKeySpec
		code admit.Code
	}{
		{"no date and a list without one", admit.PretixdroidKeySpec{List: "All days"}, admit.EInvalid},
		{"a date other than the list's", admit.PretixdroidKeySpec{List: "Day 1 gate", Subevent: "Day 2"}, admit.EInvalid},
		{"an unknown date", admit.PretixdroidKeySpec{Subevent: "Day 9"}, admit.ENotFound},
		{"the list's own date", admit.PretixdroidKeySpec{List: "Day 1 gate", Subevent: "Day 1"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.Organizer, c.spec.Event = "demoorga", "festival"
			k, err := s.env.Core.CreatePretixdroidKey(context.Background(), c.spec)
			if admit.ErrorCode(err) != c.code {
				t.Fatalf("err = %v, want code %q", err, c.code)
			}
			if err == nil && (k.Subevent == nil || k.Subevent.ID != s.day1 || k.Key.SubeventID != s.day1) {
				t.Errorf("key = %+v, want bound to day 1", k.Key)
			}
		})
	}
}
