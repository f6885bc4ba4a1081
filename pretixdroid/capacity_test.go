package pretixdroid_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// A full area refuses in pretix's shape: status "error" with the reason
// "rules" (a valid ticket the list's conditions refuse now), and the
// position's data, as for every refusal of a known ticket.
func TestRedeemRefusesWhenTheAreaIsFull(t *testing.T) {
	f := newFixture(t)
	f.env.Import(t, strings.Replace(mainFixture, `{"name": "Side entrance"}`, `{"name": "Side entrance", "capacity": 1}`, 1))
	a := redeemJSON(t, f.env, mainBase, f.keySide, url.Values{"secret": {secHiggs}})
	if a.Status != "ok" {
		t.Fatalf("first entry: %+v", a)
	}
	a = redeemJSON(t, f.env, mainBase, f.keySide, url.Values{"secret": {secCurie}})
	if a.Status != "error" || a.Reason != "rules" || a.Data == nil {
		t.Fatalf("entry into a full area: %+v", a)
	}
	// Forced, it goes in and is logged forced.
	a = redeemJSON(t, f.env, mainBase, f.keySide, url.Values{"secret": {secCurie}, "force": {"true"}})
	if a.Status != "ok" {
		t.Fatalf("forced entry into a full area: %+v", a)
	}
	var got []string
	for _, sc := range scans(t, f.env, f.ticket(t, secCurie).ID) {
		got = append(got, string(sc.Result))
		if sc.Result == admit.ReasonOK && !sc.Forced {
			t.Errorf("the forced entry is not logged forced")
		}
	}
	if strings.Join(got, ",") != "capacity,ok" {
		t.Errorf("log %v", got)
	}
}
