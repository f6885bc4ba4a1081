package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

// An import over HTTP reads its whole body before it takes the store's
// writer: a scan sent while an upload trickles in is answered before the
// upload ends (on SQLite the import holds the one writer every scan needs;
// reading the body inside it made every scan wait for the upload).
func TestScanAnsweredDuringSlowImportUpload(t *testing.T) {
	f := setup(t)
	// With every header key before "orders", the JSON import reads the
	// orders from the body as it writes them (else it spools them first).
	direct := strings.Replace(eventJSON, `"sections":`, `"subevents": [], "sections":`, 1)
	split := strings.Index(direct, `{"code": "B2"`)
	for _, c := range []struct {
		name, path, ctype, first, rest string
		ticket                         int
	}{
		{"JSON", "/api/v1/imports", "application/json",
			direct[:split], direct[split:], tDee},
		{"CSV", "/api/v1/events/" + f.event + "/imports/csv", "text/csv",
			"order_code,order_status,product,first_name,last_name,email\nS1,paid,Ticket,Sue,Slow,\n", "S2,paid,Ticket,Sam,Slow,\n", tAnn},
	} {
		t.Run(c.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			req, err := http.NewRequest("POST", f.env.URL+c.path, pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", c.ctype)
			req.Header.Set("Authorization", "Bearer "+f.admin)
			type result struct {
				resp *http.Response
				err  error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				done <- result{resp, err}
			}()
			finished := false
			t.Cleanup(func() { // on a failure, end the upload before the server stops
				if !finished {
					pw.CloseWithError(errors.New("test failed"))
					if r := <-done; r.resp != nil {
						r.resp.Body.Close()
					}
				}
			})
			if _, err := pw.Write([]byte(c.first)); err != nil {
				t.Fatal(err)
			}
			// Let the server read the first part (before the fix, it
			// began the import on it and held the writer).
			time.Sleep(200 * time.Millisecond)
			scanned := make(chan string, 1)
			go func() {
				body, _ := json.Marshal(scanBody(f.qr(c.ticket)))
				req, _ := http.NewRequest("POST", f.env.URL+"/api/v1/events/"+f.event+"/scans", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+f.admin)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					scanned <- err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				scanned <- fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
			}()
			select {
			case a := <-scanned:
				if !strings.HasPrefix(a, `200 {"result":"ok"`) {
					t.Fatalf("scan during the upload: %s", a)
				}
			case r := <-done:
				finished = true
				t.Fatalf("the import ended (%v, %v) before the rest of its body was sent", r.resp, r.err)
			case <-time.After(20 * time.Second):
				t.Fatal("a scan waited for an upload in progress")
			}
			if _, err := pw.Write([]byte(c.rest)); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			r := <-done
			finished = true
			if r.err != nil {
				t.Fatal(r.err)
			}
			defer r.resp.Body.Close()
			b, _ := io.ReadAll(r.resp.Body)
			if r.resp.StatusCode != 200 {
				t.Fatalf("import: %d %s", r.resp.StatusCode, b)
			}
		})
	}
}
