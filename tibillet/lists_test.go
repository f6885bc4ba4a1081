package tibillet_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit/admittest"
)

const resultFields = "custom_form,email,first_name,last_name,price,product,qrcode_data,reservation_datetime,reservation_uuid,status,uuid"

var drfDatetime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$`)

// results returns a listing's results, by uuid too.
func results(t *testing.T, r *admittest.Response) ([]map[string]any, map[string]map[string]any) {
	t.Helper()
	want(t, r, http.StatusOK)
	raw, ok := r.JSON(t)["results"].([]any)
	if !ok {
		t.Fatalf("no results array: %s", r.Body)
	}
	list := make([]map[string]any, len(raw))
	byUUID := map[string]map[string]any{}
	for i, x := range raw {
		list[i] = x.(map[string]any)
		byUUID[list[i]["uuid"].(string)] = list[i]
	}
	return list, byUUID
}

func field(list []map[string]any, name string) []string {
	var out []string
	for _, m := range list {
		s, _ := m[name].(string)
		out = append(out, s)
	}
	return out
}

func TestListTickets(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, key := f.device(t, "Door", "", "")
	_, kVIP := f.device(t, "VIP door", "democon", "VIP lounge")
	_, kBound := f.device(t, "Bound door", "democon", "")
	want(t, f.scan(t, key, f.qr[uJohn], f.ev.UUID), http.StatusOK)
	const all = 11 // the main fixture's tickets
	list := func(key string, body map[string]any) *admittest.Response {
		t.Helper()
		return f.call(t, "POST", "/scan/list_tickets/", key, body)
	}

	t.Run("defaults and the result shape", func(t *testing.T) {
		r := list(key, map[string]any{"event_uuid": f.ev.UUID})
		m := r.JSON(t)
		if keys(m) != "count,ordering,page,page_size,results,success,total,total_pages" {
			t.Fatalf("fields %s", keys(m))
		}
		if m["success"] != true || m["count"] != float64(all) || m["total"] != float64(all) || m["page"] != 1.0 ||
			m["page_size"] != 40.0 || m["total_pages"] != 1.0 {
			t.Fatalf("envelope %s", r.Body)
		}
		if o := obj(t, m, "ordering"); o["order_by"] != "reservation__datetime" || o["order_dir"] != "desc" {
			t.Fatalf("ordering %v", o)
		}
		got, by := results(t, r)
		for _, x := range got {
			if keys(x) != resultFields {
				t.Fatalf("result fields %s", keys(x))
			}
			if dt, _ := x["reservation_datetime"].(string); !drfDatetime.MatchString(dt) {
				t.Fatalf("reservation_datetime %q", dt)
			}
			if x["custom_form"] != nil {
				t.Fatalf("custom_form %v", x["custom_form"])
			}
		}
		john, jane := by[uJohn], by[uJane]
		if john["first_name"] != "John" || john["last_name"] != "Doe" || john["email"] != "john@example.org" ||
			john["price"] != "General Admission" || john["product"] != "Concert Ticket" ||
			john["reservation_uuid"] != oFOO || john["qrcode_data"] != f.qr[uJohn] {
			t.Fatalf("John %v", john)
		}
		if jane["email"] != "jane@example.org" {
			t.Fatalf("Jane's own email: %v", jane["email"])
		}
		// Statuses, on the device's list (the default one here).
		for u, st := range map[string]string{uJohn: "Valid and scanned", uJane: "Valid and not scanned",
			uCarl: "Canceled", uPeter: "Created", uBob: "Inactive"} {
			if by[u]["status"] != st {
				t.Fatalf("%s: status %v, want %s", by[u]["last_name"], by[u]["status"], st)
			}
		}
		if by[uOscar] != nil || by[uGus] != nil {
			t.Fatal("another event's tickets are listed")
		}
	})
	t.Run("statuses are of the list the device scans on", func(t *testing.T) {
		_, by := results(t, list(kVIP, map[string]any{"event_uuid": f.ev.UUID}))
		if by[uJohn]["status"] != "Valid and not scanned" {
			t.Fatalf("John on the VIP lounge: %v", by[uJohn]["status"])
		}
	})
	t.Run("pages", func(t *testing.T) {
		var seen []string
		for page := 1; page <= 4; page++ {
			r := list(key, map[string]any{"event_uuid": f.ev.UUID, "page": page, "page_size": 4, "order_by": "uuid", "order_dir": "asc"})
			m := r.JSON(t)
			got, _ := results(t, r)
			wantCount := []int{4, 4, 3, 0}[page-1]
			if len(got) != wantCount || m["count"] != float64(wantCount) || m["total"] != float64(all) ||
				m["total_pages"] != 3.0 || m["page"] != float64(page) || m["page_size"] != 4.0 {
				t.Fatalf("page %d: %s", page, r.Body)
			}
			seen = append(seen, field(got, "uuid")...)
		}
		if len(seen) != all || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != all {
			t.Fatalf("pages do not cover the tickets once, in uuid order: %v", seen)
		}
		// A page given as a string, as a form would.
		r := list(key, map[string]any{"event_uuid": f.ev.UUID, "page": "2", "page_size": "4"})
		if got, _ := results(t, r); len(got) != 4 {
			t.Fatalf("string page: %s", r.Body)
		}
	})
	t.Run("orderings", func(t *testing.T) {
		for _, c := range []struct{ by, dir, field string }{
			{"last_name", "asc", "last_name"}, {"last_name", "desc", "last_name"},
			{"first_name", "asc", "first_name"}, {"uuid", "desc", "uuid"},
			{"reservation__uuid", "asc", "reservation_uuid"}, {"reservation__datetime", "asc", "reservation_datetime"},
			{"status", "asc", ""},
		} {
			r := list(key, map[string]any{"event_uuid": f.ev.UUID, "order_by": c.by, "order_dir": c.dir, "page_size": 200})
			got, _ := results(t, r)
			if len(got) != all {
				t.Fatalf("%s %s: %d results", c.by, c.dir, len(got))
			}
			if o := obj(t, r.JSON(t), "ordering"); o["order_by"] != c.by || o["order_dir"] != c.dir {
				t.Fatalf("ordering %v", o)
			}
			if c.field == "" {
				continue
			}
			vals := field(got, c.field)
			if c.dir == "desc" {
				slices.Reverse(vals)
			}
			if !slices.IsSortedFunc(vals, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
				t.Fatalf("%s %s: not in order: %v", c.by, c.dir, vals)
			}
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		ev := f.ev.UUID
		cases := []struct {
			name   string
			key    string
			body   any
			status int
			err    string
		}{
			{"no event_uuid", key, map[string]any{}, 400, "Event uuid is required"},
			{"an event_uuid that is no uuid", key, map[string]any{"event_uuid": "democon"}, 400, "Invalid event uuid"},
			{"an unknown event", key, map[string]any{"event_uuid": "99999999-9999-4999-8999-999999999999"}, 404, "Event not found"},
			{"another organizer's event", key, map[string]any{"event_uuid": f.foreign.UUID}, 404, "Event not found"},
			{"a device bound to another event", kBound, map[string]any{"event_uuid": f.other.UUID}, 403, "This app is bound to another event"},
			{"an unknown order_by", key, map[string]any{"event_uuid": ev, "order_by": "password"}, 400, `order_by: "password" is not a valid choice.`},
			{"an unknown order_dir", key, map[string]any{"event_uuid": ev, "order_dir": "up"}, 400, `order_dir: "up" is not a valid choice.`},
			{"page 0", key, map[string]any{"event_uuid": ev, "page": 0}, 400, "page: Ensure this value is greater than or equal to 1."},
			{"a page that is no number", key, map[string]any{"event_uuid": ev, "page": "two"}, 400, "page: A valid integer is required."},
			{"a fractional page", key, map[string]any{"event_uuid": ev, "page": 1.5}, 400, "page: A valid integer is required."},
			{"page_size 0", key, map[string]any{"event_uuid": ev, "page_size": 0}, 400, "page_size: Ensure this value is greater than or equal to 1."},
			{"page_size over 200", key, map[string]any{"event_uuid": ev, "page_size": 201}, 400, "page_size: Ensure this value is less than or equal to 200."},
			{"a huge page", key, map[string]any{"event_uuid": ev, "page": 1e30}, 400, "page: Ensure this value is less than or equal to 2147483647."},
			{"malformed JSON", key, `{"event_uuid": `, 400, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := f.call(t, "POST", "/scan/list_tickets", c.key, c.body)
				want(t, r, c.status)
				e, _ := r.JSON(t)["error"].(string)
				if e == "" || (c.err != "" && e != c.err) {
					t.Fatalf("error %q, want %q", e, c.err)
				}
			})
		}
		// The largest page size is served.
		r := list(key, map[string]any{"event_uuid": ev, "page_size": 200})
		if got, _ := results(t, r); len(got) != all {
			t.Fatalf("page_size 200: %s", r.Body)
		}
	})
}

func TestSearchTicket(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, key := f.device(t, "Door", "", "")
	search := func(body map[string]any) *admittest.Response {
		t.Helper()
		return f.call(t, "POST", "/scan/search_ticket/", key, body)
	}
	cases := []struct {
		name, query string
		want        []string // uuids, in last_name order
	}{
		{"a last name", "Doe", []string{uJohn, uJane}},
		{"a name in another case", "dOE", []string{uJohn, uJane}},
		{"a first name", "Vera", []string{uVera}},
		{"an email", "jane@example", []string{uJane}},
		{"an order's email", "tee@example.org", []string{uTee}},
		{"a product name", "VIP Pass", []string{uVera}},
		{"a price name", "Next Year", []string{uEarly}},
		{"a ticket uuid prefix", "10000000-0000-4000-8000-00000000000a", []string{uPaula}},
		{"a reservation uuid prefix", "a0000000", []string{uJohn, uJane}},
		{"nothing", "Nobody At All", nil},
		{"another event's ticket is not found", "Oscar", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := search(map[string]any{"event_uuid": f.ev.UUID, "search": c.query})
			m := r.JSON(t)
			got, _ := results(t, r)
			if keys(m) != "count,results,success" || m["success"] != true || m["count"] != float64(len(got)) {
				t.Fatalf("envelope %s", r.Body)
			}
			ids := field(got, "uuid")
			sortedWant := slices.Clone(c.want)
			slices.Sort(sortedWant)
			sortedGot := slices.Clone(ids)
			slices.Sort(sortedGot)
			if !slices.Equal(sortedGot, sortedWant) {
				t.Fatalf("found %v, want %v", ids, c.want)
			}
			for _, x := range got {
				if keys(x) != resultFields {
					t.Fatalf("result fields %s", keys(x))
				}
			}
		})
	}
	t.Run("at most 50 results, by last name", func(t *testing.T) {
		var tickets []string
		for i := range 60 {
			tickets = append(tickets, fmt.Sprintf(`{"product": "Ticket", "first_name": "Guest", "last_name": "Crowd %02d"}`, 59-i))
		}
		file := `{"organizer": {"slug": "demoorga", "name": "Example Organization", "domain": "example.tibillet.org"},
		  "event": {"slug": "crowd", "name": "Crowd"}, "products": [{"name": "Ticket"}],
		  "orders": [{"code": "BIG", "status": "paid", "email": "crowd@example.org", "tickets": [` + strings.Join(tickets, ",") + `]}]}`
		ev := f.env.Import(t, file).Event
		r := search(map[string]any{"event_uuid": ev.UUID, "search": "crowd"})
		got, _ := results(t, r)
		if len(got) != 50 || r.JSON(t)["count"] != 50.0 {
			t.Fatalf("%d results, want 50", len(got))
		}
		names := field(got, "last_name")
		if !slices.IsSorted(names) || names[0] != "Crowd 00" {
			t.Fatalf("not by last name: %v", names)
		}
	})
	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
		err    string
	}{
		{"no search", map[string]any{"event_uuid": f.ev.UUID}, 400, "Search string is required"},
		{"a blank search", map[string]any{"event_uuid": f.ev.UUID, "search": "   "}, 400, "Search string is required"},
		{"no event_uuid", map[string]any{"search": "Doe"}, 400, "Event uuid is required"},
		{"an event_uuid that is no uuid", map[string]any{"search": "Doe", "event_uuid": "x"}, 400, "Invalid event uuid"},
		{"another organizer's event", map[string]any{"search": "Gus", "event_uuid": f.foreign.UUID}, 404, "Event not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, f.call(t, "POST", "/scan/search_ticket", key, c.body), c.status, c.err)
		})
	}
}
