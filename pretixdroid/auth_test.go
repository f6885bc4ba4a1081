package pretixdroid_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// Errors come in pretix's order, as plain text: the event first (404), then
// the key (403), on every endpoint.
func TestAuthErrorsInPretixOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, deviceKey := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "demoorga", Name: "Gate", Event: "democon"})
	mgmtKey, err := f.env.Core.CreateKey(context.Background(), &admit.APIKey{Kind: admit.KeyManagement, OrganizerID: f.main.Organizer.ID})
	if err != nil {
		t.Fatal(err)
	}
	last := byte('a')
	if f.keyMain[len(f.keyMain)-1] == last {
		last = 'b'
	}
	tampered := f.keyMain[:len(f.keyMain)-1] + string(last)
	cases := []struct {
		name   string
		base   string
		key    string
		status int
		body   string
	}{
		{"unknown organizer is 404 Unknown event", "/pretixdroid/api/nobody/democon/", f.keyMain, 404, "Unknown event"},
		{"unknown event is 404 Unknown event", "/pretixdroid/api/demoorga/nocon/", f.keyMain, 404, "Unknown event"},
		{"unknown event wins over a wrong key", "/pretixdroid/api/demoorga/nocon/", "wrong", 404, "Unknown event"},
		{"event of another organizer's slug is unknown", "/pretixdroid/api/otherorga/democon/", f.keyMain, 404, "Unknown event"},
		{"no key is 403 Invalid key", mainBase, "", 403, "Invalid key"},
		{"a malformed key is 403", mainBase, "ABCDEF", 403, "Invalid key"},
		{"a well-formed unknown key is 403", mainBase, "abcdefgh.abcdefghabcdefghabcdefghabcdefgh", 403, "Invalid key"},
		{"a key with one character changed is 403", mainBase, tampered, 403, "Invalid key"},
		{"a key of another event is 403", mainBase, f.keyOther, 403, "Invalid key"},
		{"a TiBillet device key is 403", mainBase, deviceKey, 403, "Invalid key"},
		{"a management key is 403", mainBase, mgmtKey, 403, "Invalid key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantText(t, redeem(t, f.env, c.base, c.key, url.Values{"secret": {secCurie}}), c.status, c.body)
			for _, ep := range []string{"search/", "status/", "download/"} {
				wantText(t, get(t, f.env, c.base, ep, c.key, url.Values{"query": {"Curie"}}), c.status, c.body)
			}
		})
	}
	// Nothing was admitted by the refused requests.
	r := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}})
	if r.Status != "ok" {
		t.Errorf("after refused requests, redeem = %+v, want ok", r)
	}
}

// The key is read from the query only, as pretix does, also on POST.
func TestKeyInFormBodyIsNotAccepted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	form := url.Values{"secret": {secCurie}, "key": {f.keyMain}}
	r := f.env.Do(t, "POST", mainBase+"redeem/", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	wantText(t, r, 403, "Invalid key")
}

// A key made by the CLI's core call resolves the default list, and one
// made with ListID 0 (an older key) still works on the default list.
func TestKeyWithoutListUsesDefaultList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	k, err := f.env.Core.CreatePretixdroidKey(context.Background(), admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon"})
	if err != nil {
		t.Fatal(err)
	}
	def, err := f.env.Core.Store.DefaultList(context.Background(), f.main.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.Key.ListID != def.ID || k.List.Name != "Main" || !k.Key.AllowSearch || !k.Key.ShowInfo {
		t.Errorf("key = %+v on list %q, want the default list %d, search and info", k.Key, k.List.Name, def.ID)
	}
	bare, err := f.env.Core.CreateKey(context.Background(), &admit.APIKey{Kind: admit.KeyPretixdroid,
		OrganizerID: f.main.Organizer.ID, EventID: f.main.Event.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r := redeemJSON(t, f.env, mainBase, bare, url.Values{"secret": {secCurie}}); r.Status != "ok" {
		t.Fatalf("redeem with a list-less key = %+v, want ok", r)
	}
	if r := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}}); r.Reason != "already_redeemed" {
		t.Errorf("redeem on the default list after = %+v, want already_redeemed", r)
	}
}

// Key creation refuses names that do not resolve.
func TestCreateKeyErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name string
		spec admit.PretixdroidKeySpec
		code admit.Code
	}{
		{"unknown organizer", admit.PretixdroidKeySpec{Organizer: "nobody", Event: "democon"}, admit.ENotFound},
		{"unknown event", admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "nocon"}, admit.ENotFound},
		{"unknown list", admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon", List: "Nope"}, admit.ENotFound},
		{"subevent of an event that is no series", admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon", Subevent: "Day 1"}, admit.EInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.env.Core.CreatePretixdroidKey(context.Background(), c.spec)
			if admit.ErrorCode(err) != c.code {
				t.Errorf("err = %v, want code %s", err, c.code)
			}
		})
	}
}

// Bad input gets a clear 4xx, never a 500, and records nothing.
func TestBadRedeemInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	form := "application/x-www-form-urlencoded"
	q := "?key=" + url.QueryEscape(f.keyMain)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"missing secret", "POST", mainBase + "redeem/" + q, form, "nonce=abc", 400},
		{"empty secret", "POST", mainBase + "redeem/" + q, form, "secret=", 400},
		{"JSON body has no form secret", "POST", mainBase + "redeem/" + q, "application/json", `{"secret":"` + secCurie + `"}`, 400},
		{"unparseable datetime", "POST", mainBase + "redeem/" + q, form, "secret=" + secCurie + "&datetime=yesterday", 400},
		{"nonce too long", "POST", mainBase + "redeem/" + q, form, "secret=" + secCurie + "&nonce=" + strings.Repeat("n", 191), 400},
		{"malformed form encoding", "POST", mainBase + "redeem/" + q, form, "secret=%zz", 400},
		{"body too large", "POST", mainBase + "redeem/" + q, form, "secret=" + secCurie + "&pad=" + strings.Repeat("x", 70<<10), 400},
		{"redeem by GET", "GET", mainBase + "redeem/" + q, "", "", 405},
		{"search by POST", "POST", mainBase + "search/" + q, form, "query=Curie", 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			hdr := []string{}
			if c.ctype != "" {
				hdr = append(hdr, "Content-Type", c.ctype)
			}
			r := f.env.Do(t, c.method, c.path, body, hdr...)
			if r.Status != c.status {
				t.Errorf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
		})
	}
	if rows := scans(t, f.env, f.ticket(t, secCurie).ID); len(rows) != 0 {
		t.Errorf("bad requests recorded %d scans", len(rows))
	}
	if r := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}}); r.Status != "ok" {
		t.Errorf("redeem after bad requests = %+v, want ok", r)
	}
}
