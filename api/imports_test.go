package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// sendRaw sends a body with its own content type, validated like call.
func (f *fixture) sendRaw(t *testing.T, key, path, ctype, body string) *answer {
	t.Helper()
	return f.send(t, key, "POST", path, []byte(body), true, "Content-Type", ctype)
}

func ticketCount(t *testing.T, f *fixture) int {
	t.Helper()
	_, n, err := f.env.Core.Store.FindTickets(context.Background(), admit.TicketFilter{EventID: f.res.Event.ID, Limit: 1, Count: true})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportJSONOverHTTP(t *testing.T) {
	f := setup(t)
	more := strings.Replace(eventJSON, `"code": "D4"`, `"code": "E5", "status": "paid", "tickets": [{"product": "Ticket", "first_name": "Fay", "last_name": "Fox"}]},
  {"code": "D4"`, 1)
	a := f.call(t, f.admin, "POST", "/api/v1/imports?tickets=true", more)
	if a.Status != 200 {
		t.Fatalf("import: %d %s", a.Status, a.Body)
	}
	m := a.json(t)
	counts := m["counts"].(map[string]any)
	if m["event"].(map[string]any)["uuid"] != f.event || counts["created"].(float64) != 1 || counts["unchanged"].(float64) != 6 {
		t.Fatalf("report: %s", a.Body)
	}
	if ts := m["tickets"].([]any); len(ts) != 7 || ts[0].(map[string]any)["uuid"] != f.res.Tickets[tAnn].UUID {
		t.Fatalf("tickets: %v", ts)
	}
	if n := ticketCount(t, f); n != 7 {
		t.Fatalf("%d tickets, want 7", n)
	}
}

func TestImportCSVOverHTTP(t *testing.T) {
	f := setup(t)
	path := "/api/v1/events/" + f.event + "/imports/csv"
	csv := "Order number,Status,Product,First name,Last name,E-mail,Section\n" +
		"Z9,paid,Ticket,Gus,Gray,gus@example.org,Floor\n" +
		"Z9,paid,Merch pass,Hal,Hill,,Standing\n"
	mapping := "order_code=Order number,order_status=Status,product=Product,first_name=First name,last_name=Last name,email=E-mail,section=Section"
	a := f.sendRaw(t, f.admin, path+"?map="+url.QueryEscape(mapping), "text/csv", csv)
	if a.Status != 200 {
		t.Fatalf("csv import: %d %s", a.Status, a.Body)
	}
	if c := a.json(t)["counts"].(map[string]any); c["created"].(float64) != 2 || c["orders"].(float64) != 1 {
		t.Fatalf("report: %s", a.Body)
	}
	// The new product and section were made, and the tickets scan.
	found := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/tickets?q=hill", nil).json(t)["tickets"].([]any)
	if len(found) != 1 || found[0].(map[string]any)["product"] != "Merch pass" || found[0].(map[string]any)["section"] != "Standing" {
		t.Fatalf("imported: %v", found)
	}
	before := ticketCount(t, f)
	// A bad last row: nothing imported, the row named.
	bad := "order_code,order_status,product,first_name,last_name,email\nY1,paid,Ticket,Ivy,Ink,\nY2,lost,Ticket,Jo,Jay,\n"
	d := f.sendRaw(t, f.admin, path, "text/csv", bad).problem(t, 422)
	if !contains(d, "row 3") {
		t.Fatalf("detail %q names no row", d)
	}
	if n := ticketCount(t, f); n != before {
		t.Fatalf("%d tickets after a refused import, want %d", n, before)
	}
}

func TestImportRefusals(t *testing.T) {
	f := setup(t)
	rival := strings.ReplaceAll(eventJSON, `"acme"`, `"rival"`)
	cases := []struct {
		name, path, ctype, body string
		status                  int
		detail                  string
	}{
		{"another organizer's file", "/api/v1/imports", "application/json", rival, 403, "organizer"},
		{"an unknown product, named with its place", "/api/v1/imports", "application/json",
			strings.Replace(eventJSON, `{"product": "VIP", "first_name": "Vic"`, `{"product": "Nope", "first_name": "Vic"`, 1), 422, `orders[0].tickets[1].product`},
		{"malformed JSON", "/api/v1/imports", "application/json", `{"organizer": `, 422, "JSON"},
		{"a CSV body sent as JSON", "/api/v1/imports", "text/csv", "a,b\n", 415, "application/json"},
		{"a JSON body sent as CSV", "/api/v1/events/" + f.event + "/imports/csv", "application/json", "{}", 415, "text/csv"},
		{"a CSV without a required column", "/api/v1/events/" + f.event + "/imports/csv", "text/csv", "order_code,product\nA,Ticket\n", 422, "order_status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := f.send(t, f.admin, "POST", c.path, []byte(c.body), false, "Content-Type", c.ctype).problem(t, c.status)
			if !contains(d, c.detail) {
				t.Fatalf("detail %q does not name %q", d, c.detail)
			}
		})
	}
	if n := ticketCount(t, f); n != 6 {
		t.Fatalf("%d tickets, want 6", n)
	}
}
