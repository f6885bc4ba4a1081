package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/admitdev/admit"
)

// rulesJSON: an event with a ticket for each rule of the decision, and a
// list for each of the lists' rules.
const rulesJSON = `{
  "organizer": {"slug": "acme", "name": "Acme Events"},
  "event": {"slug": "rules", "name": "Rules Night", "timezone": "Europe/Paris"},
  "sections": [{"name": "Floor"}, {"name": "Balcony"}],
  "products": [{"name": "Day pass"}, {"name": "VIP pass"}],
  "lists": [
    {"name": "Main", "default": true},
    {"name": "VIP door", "products": ["VIP pass"]},
    {"name": "Balcony stairs", "sections": ["Balcony"]},
    {"name": "Once", "allow_entry_after_exit": false},
    {"name": "Party", "allow_multiple_entries": true}
  ],
  "orders": [
    {"code": "P1", "email": "p@example.org", "tickets": [
      {"product": "Day pass", "first_name": "Ada", "section": "Floor"},
      {"product": "VIP pass", "first_name": "Grace", "section": "Balcony"},
      {"product": "Day pass", "first_name": "Early", "valid_from": "2099-01-01T00:00:00Z"},
      {"product": "Day pass", "first_name": "Late", "valid_until": "2001-01-01T00:00:00Z"},
      {"product": "Day pass", "first_name": "Bob", "blocked": true},
      {"product": "Day pass", "first_name": "Nina", "section": "Floor"}]},
    {"code": "C2", "status": "canceled", "email": "c@example.org", "tickets": [{"product": "Day pass", "first_name": "Alan"}]},
    {"code": "N3", "status": "pending", "email": "n@example.org", "tickets": [{"product": "Day pass", "first_name": "Pat"}]}
  ]
}`

const (
	rAda = iota
	rGrace
	rEarly
	rLate
	rBob
	rNina
	rAlan
	rPat
)

// The phone decides as the server does. For each list, the same scans in
// the same order go to the server (online, recorded) and to the phone's
// offline decision on a snapshot taken before them (and its own scans
// since): every answer is the same, result and reason. Covered: admitted,
// already inside, exit, exit of a ticket not inside, entry after exit
// (allowed, and refused as already used), multiple entries, canceled (entry
// and exit), blocked, not valid yet, expired, unpaid, product and section
// not on the list, a forged code, another event's code.
func TestBrowserOfflineDecisionMatchesServer(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	rules := f.env.Import(t, rulesJSON)
	ctx := context.Background()
	_, key := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Rules gate", Event: "rules"})
	lists, err := f.env.Core.Store.Lists(ctx, rules.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	listID := map[string]*admit.CheckinList{}
	for _, l := range lists {
		listID[l.Name] = l
	}
	tk := rules.Tickets
	code := func(i int) string { return tk[i].QRCode }
	type step struct {
		code string
		typ  string
		want string // the server's answer: ok or the reason
	}
	entry := func(c, want string) step { return step{c, "entry", want} }
	exit := func(c, want string) step { return step{c, "exit", want} }
	cases := []struct {
		list  string
		steps []step
	}{
		{"Main", []step{
			entry(code(rAda), "ok"), entry(code(rAda), "already_inside"), exit(code(rAda), "ok"), exit(code(rAda), "not_inside"),
			entry(code(rAda), "ok"), entry(code(rGrace), "ok"), entry(code(rEarly), "not_valid_yet"), entry(code(rLate), "expired"),
			entry(code(rBob), "blocked"), exit(code(rBob), "blocked"), entry(code(rAlan), "canceled"), exit(code(rAlan), "canceled"),
			entry(code(rPat), "unpaid"), exit(code(rNina), "not_inside"), entry(flip(code(rNina)), "forged"),
			entry(f.res.Tickets[tAda].QRCode, "wrong_event"),
		}},
		{"VIP door", []step{entry(code(rAda), "not_on_list"), entry(code(rGrace), "ok"), exit(code(rGrace), "ok")}},
		{"Balcony stairs", []step{entry(code(rAda), "not_on_list"), entry(code(rGrace), "ok")}},
		{"Once", []step{entry(code(rAda), "ok"), exit(code(rAda), "ok"), entry(code(rAda), "already_used"), entry(code(rNina), "ok")}},
		{"Party", []step{entry(code(rAda), "ok"), entry(code(rAda), "ok"), exit(code(rAda), "ok"), entry(code(rAda), "ok")}},
	}

	b := newBrowser(t, browserOpt{})
	b.must("a page", chromedp.Navigate(f.env.URL+"/signin"))
	for _, tc := range cases {
		t.Run(tc.list, func(t *testing.T) {
			l := listID[tc.list]
			snap := offlineSnapshot(t, f, rules, l)
			var steps []map[string]string
			for _, s := range tc.steps {
				steps = append(steps, map[string]string{"code": s.code, "type": s.typ})
			}
			stepsJSON, _ := json.Marshal(steps)
			// The phone: every step decided offline, each on the snapshot and
			// the phone's scans before it.
			phone := evalAsync[[]string](b, `(async () => {
				const { Snapshot } = await `+module("snapshot.js")+`;
				const { decideOffline } = await `+module("decide.js")+`;
				const snap = new Snapshot("`+rules.Event.UUID+`", "`+l.UUID+`");
				snap.apply(`+snap+`);
				const out = [];
				for (const s of `+string(stepsJSON)+`) {
					const d = await decideOffline(snap, s.code, s.type, Date.now());
					snap.overlayScan({ uuid: d.uuid, type: s.type, verdict: d.verdict, device_time: new Date().toISOString() });
					out.push(d.verdict);
				}
				return out;
			})()`)
			for i, s := range tc.steps {
				r := f.env.Do(t, "POST", "/api/v1/events/"+rules.Event.UUID+"/scans",
					map[string]string{"code": s.code, "type": s.typ, "list": l.UUID}, "Authorization", "Bearer "+key)
				if r.Status != 200 {
					t.Fatalf("step %d: scan: %d %s", i, r.Status, r.Body)
				}
				m := r.JSON(t)
				server := "ok"
				if m["result"] != "ok" {
					server, _ = m["reason"].(string)
				}
				if server != s.want {
					t.Errorf("step %d (%s %s): the server says %s, the test wants %s", i, s.typ, short(s.code), server, s.want)
				}
				if phone[i] != server {
					t.Errorf("step %d (%s %s): the phone says %s, the server %s", i, s.typ, short(s.code), phone[i], server)
				}
			}
		})
	}
	b.clean()
}

func short(code string) string {
	if len(code) > 12 {
		return code[:12] + "…"
	}
	return code
}

// offlineSnapshot is the snapshot (OFFLINE.md section 1) of an event's
// list, as JSON, made here from the store until the server's endpoint is
// merged.
func offlineSnapshot(t *testing.T, f *fixture, res *admit.ImportResult, l *admit.CheckinList) string {
	t.Helper()
	type class struct {
		Product    int64   `json:"product"`
		Section    int64   `json:"section"`
		Subevent   int64   `json:"subevent"`
		Status     string  `json:"status"`
		Blocked    bool    `json:"blocked"`
		ValidFrom  *string `json:"valid_from"`
		ValidUntil *string `json:"valid_until"`
	}
	iso := func(p interface{ Format(string) string }) *string {
		s := p.Format("2006-01-02T15:04:05.000Z07:00")
		return &s
	}
	var classes []class
	var tickets []string
	for _, tk := range res.Tickets {
		c := class{Product: tk.ProductID, Section: tk.SectionID, Subevent: tk.SubeventID, Status: string(tk.OrderStatus), Blocked: tk.Blocked}
		if tk.ValidFrom != nil {
			c.ValidFrom = iso(tk.ValidFrom.UTC())
		}
		if tk.ValidUntil != nil {
			c.ValidUntil = iso(tk.ValidUntil.UTC())
		}
		classes = append(classes, c)
		tickets = append(tickets, strings.ReplaceAll(tk.UUID, "-", ""))
	}
	ev := res.Event
	products := l.ProductIDs
	if products == nil {
		products = []int64{}
	}
	sections := l.SectionIDs
	if sections == nil {
		sections = []int64{}
	}
	var sub any
	if l.SubeventID != 0 {
		sub = l.SubeventID
	}
	snap := map[string]any{
		"format": 1, "full": true, "cursor": "test.1", "server_time": "2026-01-01T00:00:00.000Z",
		"event": map[string]any{"uuid": ev.UUID, "name": ev.Name, "slug": ev.Slug, "timezone": ev.Timezone,
			"keys": []map[string]string{{"alg": ev.Signing, "pem": ev.PublicKeyPEM}}},
		"list": map[string]any{"uuid": l.UUID, "name": l.Name, "all_products": len(l.ProductIDs) == 0, "products": products,
			"sections": sections, "subevent": sub, "include_pending": l.IncludePending,
			"allow_multiple_entries": l.AllowMultipleEntries, "allow_entry_after_exit": l.AllowEntryAfterExit, "admit_unknown_offline": false},
		"products": map[string]string{}, "sections": map[string]string{},
		"classes": classes, "tickets": tickets, "inside": "",
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
