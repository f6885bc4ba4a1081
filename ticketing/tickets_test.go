package ticketing_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"
)

// GET /events/{event}/tickets: the tickets of the caller's sections, in
// TickeTing's shape.
func TestTickets(t *testing.T) {
	f := start(t)
	es := entries(t, f.do(t, "GET", f.evPath("/tickets"), f.key, nil))
	bySerial := map[string]map[string]any{}
	for _, e := range es {
		bySerial[e["serial"].(string)] = e
	}
	grace := f.tickets["Hopper"].Serial
	if len(es) != 6 || bySerial[grace] == nil {
		t.Fatalf("tickets %v", serialsOf(es, "serial"))
	}

	t.Run("a serial this server made looks like TickeTing's", func(t *testing.T) {
		if !reSerial.MatchString(grace) {
			t.Fatalf("serial %q", grace)
		}
	})
	t.Run("an imported serial is kept as it is", func(t *testing.T) {
		if bySerial[serLegacy] == nil {
			t.Fatalf("no ticket %q", serLegacy)
		}
	})
	t.Run("the ticket's shape", func(t *testing.T) {
		e := bySerial[serCharles]
		if e["status"] != "Issued" || e["redeemed"] != "N/A" {
			t.Errorf("status %v redeemed %v", e["status"], e["redeemed"])
		}
		if s, _ := e["issued"].(string); !reDate.MatchString(s) {
			t.Errorf("issued %q", s)
		}
		sec := e["section"].(map[string]any)
		if sec["self"] != sectionURI(f, "Balcony") || sec["name"] != "Balcony" || sec["description"] != "Seated" {
			t.Errorf("section %v", sec)
		}
		o := e["owner"].(map[string]any)
		num, _ := o["number"].(string)
		if !reAccount.MatchString(num) || o["self"] != "/accounts/"+num || o["email"] != "charles@example.org" ||
			o["firstName"] != "Charles" || o["lastName"] != "Babbage" || o["username"] == "" || o["username"] == nil {
			t.Errorf("owner %v", o)
		}
	})
	t.Run("the same email is the same account", func(t *testing.T) {
		ada := bySerial[serAda]["owner"].(map[string]any)["number"]
		charles := bySerial[serCharles]["owner"].(map[string]any)["number"]
		r := f.do(t, "GET", fmt.Sprintf("/v3/events/%d/tickets", f.other.ID), f.key, nil)
		winterAda := entries(t, r)[0]["owner"].(map[string]any)["number"]
		if ada != winterAda || ada == charles {
			t.Errorf("accounts: Ada %v, Ada at the other event %v, Charles %v", ada, winterAda, charles)
		}
	})
	t.Run("status says whether the ticket is admissible", func(t *testing.T) {
		for serial, status := range map[string]string{serAda: "Issued", serCanceled: "Cancelled", serPending: "Pending", serLegacy: "Issued"} {
			if got := bySerial[serial]["status"]; got != status {
				t.Errorf("%s: status %v, want %s", serial, got, status)
			}
		}
	})
	t.Run("redeemed is the time of admission", func(t *testing.T) {
		f.clock.Set(time.Date(2030, 7, 1, 19, 30, 0, 0, time.UTC))
		want(t, f.admitSerials(t, f.key, serAda), 201)
		for _, e := range entries(t, f.do(t, "GET", f.evPath("/tickets"), f.key, nil)) {
			w := "N/A"
			if e["serial"] == serAda {
				w = "2030-07-01T19:30:00+00:00"
			}
			if e["redeemed"] != w || e["status"] == "" {
				t.Errorf("%v: redeemed %v, want %s", e["serial"], e["redeemed"], w)
			}
		}
	})
}

// modified_since keeps the tickets changed since then; its date is read in
// ISO 8601 with Z or an offset, with or without fractions.
func TestTicketsModifiedSince(t *testing.T) {
	f := start(t) // imported at t0
	f.clock.Set(t0.Add(2 * time.Hour))
	f.env.Import(t, `{"organizer": {"slug": "acme"}, "event": {"slug": "fest"},
	  "sections": [{"name": "Floor", "description": "Standing area"}], "products": [{"name": "Ticket"}],
	  "orders": [{"code": "N1", "status": "paid", "email": "new@example.org", "tickets": [
	    {"product": "Ticket", "first_name": "Nina", "last_name": "New", "section": "Floor", "serial": "NEWNEW-000000000001"}]}]}`)
	cases := []struct {
		name  string
		since string
		want  []string // nil: every ticket
	}{
		{"before the first import: every ticket", "2030-06-01T09:00:00Z", nil},
		{"between the imports, as JavaScript writes it", "2030-06-01T11:00:00.000Z", []string{"NEWNEW-000000000001"}},
		{"between the imports, with an offset", "2030-06-01T13:00:00+02:00", []string{"NEWNEW-000000000001"}},
		{"between the imports, with a negative offset and fractions", "2030-06-01T06:00:00.5-05:00", []string{"NEWNEW-000000000001"}},
		{"after the last change: none", "2030-06-01T12:00:06Z", []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := entries(t, f.do(t, "GET", f.evPath("/tickets?modified_since="+url.QueryEscape(c.since)), f.key, nil))
			got := serialsOf(es, "serial")
			if c.want == nil {
				if len(got) != 7 {
					t.Fatalf("%d tickets, want all 7", len(got))
				}
				return
			}
			if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("tickets %v, want %v", got, c.want)
			}
		})
	}
	t.Run("an offset's + left unescaped in the query", func(t *testing.T) {
		es := entries(t, f.do(t, "GET", f.evPath("/tickets?modified_since=2030-06-01T13:00:00+02:00"), f.key, nil))
		if got := serialsOf(es, "serial"); !slices.Equal(got, []string{"NEWNEW-000000000001"}) {
			t.Fatalf("tickets %v", got)
		}
	})
	for _, bad := range []string{"yesterday", "2030-06-01", "2030-06-01T11:00:00"} {
		t.Run("a bad date is refused: "+bad, func(t *testing.T) {
			r := f.do(t, "GET", f.evPath("/tickets?modified_since="+url.QueryEscape(bad)), f.key, nil)
			want(t, r, 400)
			if r.JSON(t)["error"] == "" {
				t.Fatal("no error text")
			}
		})
	}
}
