package web_test

import (
	"context"
	"encoding/json"
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
// since; the snapshot is the server's, GET /events/{event}/offline): every
// answer is the same, result and reason. Covered: admitted,
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
			var steps []map[string]string
			for _, s := range tc.steps {
				steps = append(steps, map[string]string{"code": s.code, "type": s.typ})
			}
			stepsJSON, _ := json.Marshal(steps)
			// The phone: the list's snapshot from the server, then every step
			// decided offline, each on the snapshot and the phone's scans
			// before it.
			phone := evalAsync[[]string](b, `(async () => {
				const { useKey } = await `+module("api.js")+`;
				const { Snapshot } = await `+module("snapshot.js")+`;
				const { decideOffline } = await `+module("decide.js")+`;
				useKey(`+jsString(key)+`);
				const snap = new Snapshot("`+rules.Event.UUID+`", "`+l.UUID+`");
				await snap.sync(30000);
				if (snap.list.uuid !== "`+l.UUID+`") throw new Error("the snapshot of list " + snap.list.uuid);
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

// The snapshot of an event of 100,000 tickets goes into IndexedDB and
// comes back the same (classes, tickets, who is inside); a delta changes
// a ticket's class and who is inside, and applied twice changes nothing
// more; a result noted after the last save is kept too. The times are
// logged, not asserted.
func TestBrowserOfflineSnapshotKeeps(t *testing.T) {
	f := start(t)
	b := newBrowser(t, browserOpt{})
	b.must("a page", chromedp.Navigate(f.env.URL+"/signin"))
	out := evalAsync[map[string]any](b, `(async () => {
		const { Snapshot } = await `+module("snapshot.js")+`;
		const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((x) => x.toString(16).padStart(2, "0")).join("");
		const N = 100000, C = 8;
		const classes = [];
		for (let i = 0; i < C; i++) classes.push({ product: 1 + (i % 2), section: i % 3, subevent: 0, status: i === 5 ? "canceled" : "paid",
			blocked: i === 6, valid_from: null, valid_until: i === 7 ? "2030-01-01T00:00:00Z" : null });
		const ids = [];
		for (let i = 0; i < N; i++) ids.push(hex(16));
		const tickets = classes.map(() => []);
		ids.forEach((u, i) => tickets[i % C].push(u));
		const full = { format: 1, full: true, cursor: "c1", server_time: new Date().toISOString(),
			event: { uuid: "e", keys: [] }, list: { uuid: "l" }, products: { 1: "Day", 2: "VIP" }, sections: {},
			classes, tickets: tickets.map((a) => a.join("")), inside: ids.slice(0, 30000).join("") };
		const text = JSON.stringify(full);
		let t0 = performance.now();
		const s = new Snapshot("e", "l");
		s.apply(JSON.parse(text));
		const applyMs = performance.now() - t0;
		t0 = performance.now();
		await s.save();
		const saveMs = performance.now() - t0;
		t0 = performance.now();
		const r = new Snapshot("e", "l");
		await r.load();
		const loadMs = performance.now() - t0;
		const same = (a, b) => ids.every((u) => a.classOf(u).key === b.classOf(u).key && a.stateOf(u).inside === b.stateOf(u).inside);
		const res = { bytes: text.length, applyMs, saveMs, loadMs, size: r.size, inside: r.inside.size, sameAfterLoad: same(s, r) };

		// A delta: ids[1] canceled, ids[2] (inside) left, ids[40000] entered, ids[50000] used.
		const delta = { format: 1, full: false, cursor: "c2", server_time: new Date().toISOString(), event: full.event, list: full.list,
			products: full.products, sections: {}, classes: [{ product: 2, section: 1, subevent: 0, status: "canceled", blocked: false, valid_from: null, valid_until: null }],
			tickets: [ids[1]], inside: ids[40000], outside: ids[2], used: ids[2] + ids[50000] };
		r.apply(delta);
		r.apply(delta);
		await r.save();
		await r.noteResult(ids[60000], "entry", true);
		const d = new Snapshot("e", "l");
		await d.load();
		res.afterDelta = { size: d.size, inside: d.inside.size, canceled: d.classOf(ids[1]).status, product: d.classOf(ids[1]).product,
			left: d.stateOf(ids[2]), entered: d.stateOf(ids[40000]), used: d.stateOf(ids[50000]), noted: d.stateOf(ids[60000]),
			unchanged: d.classOf(ids[3]).key === s.classOf(ids[3]).key, cursor: d.meta.cursor, classes: d.classes.length };
		return res;
	})()`)
	t.Logf("100,000 tickets: %v bytes of JSON; apply %.0f ms, save %.0f ms, load %.0f ms", out["bytes"], out["applyMs"], out["saveMs"], out["loadMs"])
	if out["size"] != 100000.0 || out["inside"] != 30000.0 || out["sameAfterLoad"] != true {
		t.Fatalf("after load: %v", out)
	}
	d := out["afterDelta"].(map[string]any)
	st := func(k string) map[string]any { return d[k].(map[string]any) }
	switch {
	case d["size"] != 100000.0, d["inside"] != 30001.0, d["canceled"] != "canceled", d["product"] != 2.0, d["unchanged"] != true, d["cursor"] != "c2", d["classes"] != 9.0:
		t.Errorf("after the delta: %v", d)
	case st("left")["inside"] != false || st("left")["entered"] != true:
		t.Errorf("the ticket that left: %v", st("left"))
	case st("entered")["inside"] != true, st("used")["inside"] != false || st("used")["entered"] != true:
		t.Errorf("entered %v, used %v", st("entered"), st("used"))
	case st("noted")["inside"] != true:
		t.Errorf("the result noted after the save was lost: %v", st("noted"))
	}
	b.clean()
}
