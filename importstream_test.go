package admit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
)

var bg = context.Background()

// importJSON imports file through Core.ImportJSON and returns its output
// with every ticket.
func importJSON(t *testing.T, core *admit.Core, file string, req admit.ImportRequest) (admit.ImportOutput, error) {
	t.Helper()
	rep, err := core.ImportJSON(bg, strings.NewReader(file), req)
	if err != nil {
		return admit.ImportOutput{}, err
	}
	defer rep.Close()
	return output(t, rep), nil
}

// output writes the report with its tickets, checks that the bytes are the
// indented JSON of what they decode to (the shape admit import prints),
// and returns it.
func output(t *testing.T, rep *admit.ImportReport) admit.ImportOutput {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteJSON(bg, &b, true); err != nil {
		t.Fatalf("write report: %v", err)
	}
	var out admit.ImportOutput
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b.String())
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(out)
	if !bytes.Equal(b.Bytes(), want.Bytes()) {
		t.Fatalf("report bytes differ from the encoding of its value:\n got %s\nwant %s", b.String(), want.String())
	}
	return out
}

func ticketCount(t *testing.T, core *admit.Core, eventID int64) int {
	t.Helper()
	_, n, err := core.Store.FindTickets(bg, admit.TicketFilter{EventID: eventID, Count: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const streamHeader = `"organizer": {"slug": "org"}, "event": {"slug": "fest"},
  "sections": [{"name": "Floor"}], "products": [{"name": "Pass"}, {"name": "Shirt", "admission": false}],
  "lists": [{"name": "Gate", "products": ["Pass"]}]`

const streamOrders = `"orders": [
  {"code": "A1", "email": "a@example.org", "tickets": [
    {"product": "Pass", "first_name": "Ada", "addons": [{"product": "Shirt"}]},
    {"product": "Pass", "first_name": "Bob", "section": "Floor"}]},
  {"code": "B2", "tickets": [{"product": "Pass", "first_name": "Cy"}]}]`

// The orders may come before or after the header: the result is the same,
// the tickets listed in the file's order, add-ons after their parent.
func TestImportJSONAnyKeyOrder(t *testing.T) {
	for _, c := range []struct{ name, file string }{
		{"orders last", "{" + streamHeader + ", " + streamOrders + "}"},
		{"orders first", "{" + streamOrders + ", " + streamHeader + "}"},
		{"lists after the orders", `{"organizer": {"slug": "org"}, "event": {"slug": "fest"}, "subevents": [],
		  "sections": [{"name": "Floor"}], "products": [{"name": "Pass"}, {"name": "Shirt", "admission": false}], ` +
			streamOrders + `, "lists": [{"name": "Gate", "products": ["Pass"]}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			core := admittest.OpenCore(t, admittest.DSN(t))
			out, err := importJSON(t, core, c.file, admit.ImportRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if out.Counts != (admit.ImportCounts{Orders: 2, Tickets: 4, Created: 4}) {
				t.Errorf("counts %+v", out.Counts)
			}
			var got []string
			for _, tk := range out.Tickets {
				got = append(got, tk.Order)
			}
			if strings.Join(got, " ") != "A1 A1 A1 B2" || out.Tickets[1].Parent != out.Tickets[0].UUID || out.Tickets[0].Parent != "" {
				t.Errorf("tickets %+v", out.Tickets)
			}
			for i, tk := range out.Tickets {
				st, err := core.Store.TicketByUUID(bg, tk.UUID)
				if err != nil {
					t.Fatal(err)
				}
				if st.Secret != tk.Secret || st.OrderCode != tk.Order || tk.QRCodeData == nil || *tk.QRCodeData != st.QRCode {
					t.Errorf("ticket %d listed %+v, stored %+v", i, tk, st)
				}
			}
			lists, err := core.Store.Lists(bg, out.Event.ID)
			if err != nil || len(lists) != 1 || lists[0].Name != "Gate" {
				t.Errorf("lists %v %v", lists, err)
			}
		})
	}
}

// More tickets than one chunk of the store: imported, listed in order,
// then imported again unchanged; the same file with one error in its last
// order imports nothing.
func TestImportJSONManyChunks(t *testing.T) {
	core := admittest.OpenCore(t, admittest.DSN(t))
	const n = 10_000
	var file bytes.Buffer
	if err := bench.WriteImportJSON(&file, n, "big"); err != nil {
		t.Fatal(err)
	}
	out, err := importJSON(t, core, file.String(), admit.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts.Tickets != n || out.Counts.Created != n || len(out.Tickets) != n {
		t.Fatalf("counts %+v, %d listed", out.Counts, len(out.Tickets))
	}
	// Orders of 1, 2, 3, 4, 1, ... tickets, in code order.
	for i, o, k := 0, 0, 0; i < n; o++ {
		for j := 0; j < min(1+o%4, n-i); j++ {
			if out.Tickets[k].Order != bench.OrderCode(o) {
				t.Fatalf("ticket %d is of order %s, want %s", k, out.Tickets[k].Order, bench.OrderCode(o))
			}
			k++
		}
		i += min(1+o%4, n-i)
	}
	again, err := importJSON(t, core, file.String(), admit.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Counts != (admit.ImportCounts{Orders: out.Counts.Orders, Tickets: n, Unchanged: n}) {
		t.Errorf("re-import counts %+v", again.Counts)
	}
	for i := range out.Tickets {
		if !reflect.DeepEqual(out.Tickets[i], again.Tickets[i]) {
			t.Fatalf("ticket %d changed on re-import: %+v -> %+v", i, out.Tickets[i], again.Tickets[i])
		}
	}

	// A new event from the same file but for an error in the last order.
	bad := strings.Replace(file.String(), `"slug":"big"`, `"slug":"big2"`, 1)
	last := strings.LastIndex(bad, `"product":"Entry"`)
	bad = bad[:last] + `"product":"Nope"` + bad[last+len(`"product":"Entry"`):]
	_, err = importJSON(t, core, bad, admit.ImportRequest{})
	if admit.ErrorCode(err) != admit.EInvalid || !strings.Contains(admit.ErrorMessage(err), `].product: unknown product "Nope"`) ||
		!strings.HasPrefix(admit.ErrorMessage(err), fmt.Sprintf("orders[%d].tickets[", out.Counts.Orders-1)) {
		t.Fatalf("error %v", err)
	}
	org, err := core.Store.OrganizerBySlug(bg, bench.Organizer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.Store.EventBySlug(bg, org.ID, "big2"); !admit.IsNotFound(err) {
		t.Errorf("the failed import left its event: %v", err)
	}

	// A uuid given twice, in two chunks: refused, nothing changed.
	var f2 bytes.Buffer
	bench.WriteImportJSON(&f2, n, "big")
	const noUUID = `"subevent":"","uuid":""`
	withUUID := `"subevent":"","uuid":"` + out.Tickets[0].UUID + `"`
	dup := strings.Replace(f2.String(), noUUID, withUUID, 1)
	i := strings.LastIndex(dup, noUUID)
	dup = dup[:i] + withUUID + dup[i+len(noUUID):]
	_, err = importJSON(t, core, dup, admit.ImportRequest{})
	if admit.ErrorCode(err) != admit.EInvalid || !strings.Contains(admit.ErrorMessage(err), "duplicate uuid") {
		t.Fatalf("duplicate uuid across chunks: %v", err)
	}
	if got := ticketCount(t, core, out.Event.ID); got != n {
		t.Errorf("%d tickets after a failed import, want %d", got, n)
	}
}

func TestImportJSONRefuses(t *testing.T) {
	core := admittest.OpenCore(t, admittest.DSN(t))
	out, err := importJSON(t, core, "{"+streamHeader+", "+streamOrders+"}", admit.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := importJSON(t, core, `{"organizer": {"slug": "other"}, "event": {"slug": "x"}}`, admit.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", admit.MaxImportText+1)
	for _, c := range []struct {
		name, file string
		req        admit.ImportRequest
		code       admit.Code
		msg        string
	}{
		{"another organizer", "{" + streamHeader + ", " + streamOrders + "}", admit.ImportRequest{OrganizerID: func() int64 {
			o, _ := core.Store.OrganizerBySlug(bg, "other")
			return o.ID
		}()}, admit.EForbidden, `organizer.slug: "org" is not your organizer`},
		{"a name too long", "{" + streamHeader + `, "orders": [{"code": "A1", "tickets": [{"product": "Pass"}, {"product": "Pass", "last_name": "` + long + `"}]}]}`,
			admit.ImportRequest{}, admit.EInvalid, "orders[0].tickets[1].last_name: longer than 1000 characters"},
		{"an unknown product", "{" + streamHeader + `, "orders": [{"code": "A1", "tickets": [{"product": "Pass"}, {"product": "Nope"}]}]}`,
			admit.ImportRequest{}, admit.EInvalid, `orders[0].tickets[1].product: unknown product "Nope"`},
		{"an order code twice", "{" + streamHeader + `, "orders": [{"code": "A1"}, {"code": "B2"}, {"code": "A1"}]}`,
			admit.ImportRequest{}, admit.EInvalid, `orders[2].code: duplicate order code "A1"`},
		{"cut short", "{" + streamHeader + `, "orders": [{"code": "A1", "tickets": [{"product": "Pa`,
			admit.ImportRequest{}, admit.EInvalid, "malformed import JSON: orders[0]: the file ends early"},
		{"a key twice", "{" + streamHeader + `, "products": []}`, admit.ImportRequest{}, admit.EInvalid, `the key "products" is given twice`},
		{"an unknown key", "{" + streamHeader + `, "colour": 1}`, admit.ImportRequest{}, admit.EInvalid, `unknown field "colour"`},
		{"an unknown field in an order", "{" + streamHeader + `, "orders": [{"code": "A1", "colour": 1}]}`, admit.ImportRequest{}, admit.EInvalid, `orders[0]: json: unknown field "colour"`},
		{"not an object", `[]`, admit.ImportRequest{}, admit.EInvalid, "must be one JSON object"},
		{"two values", "{" + streamHeader + "} {}", admit.ImportRequest{}, admit.EInvalid, "more than one JSON value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := importJSON(t, core, c.file, c.req)
			if admit.ErrorCode(err) != c.code || !strings.Contains(admit.ErrorMessage(err), c.msg) {
				t.Fatalf("error %v (%s), want %s containing %q", err, admit.ErrorCode(err), c.code, c.msg)
			}
			if got := ticketCount(t, core, out.Event.ID); got != 4 {
				t.Errorf("%d tickets after a refused import, want 4", got)
			}
		})
	}
	_ = other
}

// A CSV file into an existing event: products and sections created when
// absent, a mapping for the shop's headers, idempotent, all or nothing,
// errors naming the row and the column.
func TestImportCSV(t *testing.T) {
	core := admittest.OpenCore(t, admittest.DSN(t))
	base, err := importJSON(t, core, "{"+streamHeader+"}", admit.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := core.Store.Event(bg, base.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	req := admit.CSVImportRequest{EventID: ev.ID, Map: map[string]string{"order_code": "Order number", "email": "E-mail"}, Ignore: []string{"Total"}}
	file := "\ufeffOrder number,ORDER_STATUS,product,first_name,last_name,E-mail,section,Total,price\n" +
		"X1,paid,Pass,Ada,Lovelace,ada@example.org,Floor,10,Standard\n" +
		"X1,paid,Day pass,Bob,Babbage,bob@example.org,Gallery,10,\n" +
		"X2,pending,Pass,\"Cy, Jr.\",Young,cy@example.org,,5,Reduced\n"
	importCSV := func(file string, req admit.CSVImportRequest) (admit.ImportOutput, error) {
		rep, err := core.ImportCSV(bg, strings.NewReader(file), req)
		if err != nil {
			return admit.ImportOutput{}, err
		}
		defer rep.Close()
		return output(t, rep), nil
	}
	out, err := importCSV(file, req)
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts != (admit.ImportCounts{Orders: 2, Tickets: 3, Created: 3}) || out.Event.ID != ev.ID || len(out.Tickets) != 3 {
		t.Fatalf("output %+v", out)
	}
	want := []struct{ order, first, product, section, email string }{
		{"X1", "Ada", "Pass", "Floor", "ada@example.org"}, {"X1", "Bob", "Day pass", "Gallery", "bob@example.org"},
		{"X2", "Cy, Jr.", "Pass", "", "cy@example.org"}}
	for i, w := range want {
		tk, err := core.Store.TicketByUUID(bg, out.Tickets[i].UUID)
		if err != nil {
			t.Fatal(err)
		}
		if tk.OrderCode != w.order || tk.FirstName != w.first || tk.ProductName != w.product || tk.SectionName != w.section ||
			tk.Email != w.email || tk.Position != map[int]int{0: 0, 1: 1, 2: 0}[i] || !tk.ProductAdmission || tk.QRCode == "" {
			t.Errorf("ticket %d: %+v", i, tk)
		}
	}
	if tk, _ := core.Store.TicketByUUID(bg, out.Tickets[2].UUID); tk.OrderStatus != admit.OrderPending || tk.Price != "Reduced" {
		t.Errorf("order status or price: %+v", tk)
	}
	again, err := importCSV(file, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.Counts != (admit.ImportCounts{Orders: 2, Tickets: 3, Unchanged: 3}) {
		t.Errorf("re-import counts %+v", again.Counts)
	}
	for i := range out.Tickets {
		if !reflect.DeepEqual(out.Tickets[i], again.Tickets[i]) {
			t.Errorf("ticket %d changed on re-import", i)
		}
	}
	products, _ := core.Store.Products(bg, ev.ID)
	if len(products) != 3 || products[2].Name != "Day pass" || !products[2].Admission {
		t.Errorf("products %+v", products)
	}
	lists, _ := core.Store.Lists(bg, ev.ID)
	if len(lists) != 1 || lists[0].Name != "Gate" {
		t.Errorf("the event's lists changed: %+v", lists)
	}

	plain := "order_code,order_status,product,first_name,last_name,email\n"
	for _, c := range []struct {
		name, file string
		req        admit.CSVImportRequest
		msg        string
	}{
		{"an error in the last row", file + "X3,paid,Pass,Dan,D,dan@example.org,Floor,1,\nX4,paid,Pass,Eve,E,eve@example.org,Floor,1,\nX5,sold,Pass,F,F,f@example.org,,1,\n",
			req, `row 7, column ORDER_STATUS: must be paid, pending or canceled, not "sold"`},
		{"an unknown column", "order_code,order_status,product,first_name,last_name,email,colour\n", admit.CSVImportRequest{EventID: ev.ID},
			`row 1, column 7: unknown column "colour"`},
		{"a missing column", "order_code,order_status,product,first_name,email\n", admit.CSVImportRequest{EventID: ev.ID},
			`row 1: missing column(s) "last_name"`},
		{"an unknown mapped column", plain, admit.CSVImportRequest{EventID: ev.ID, Map: map[string]string{"colour": "x"}}, `unknown column "colour"`},
		{"rows of an order apart", plain + "Y1,paid,Pass,A,A,a@x\nY2,paid,Pass,B,B,b@x\nY1,paid,Pass,C,C,c@x\n", admit.CSVImportRequest{EventID: ev.ID},
			`row 4, column order_code: order "Y1" again: the rows of an order must be next to each other`},
		{"a bad uuid", plain[:len(plain)-1] + ",uuid\nY1,paid,Pass,A,A,a@x,nope\n", admit.CSVImportRequest{EventID: ev.ID}, `row 2, column uuid: not a UUID: "nope"`},
		{"a short row", plain + "Y1,paid,Pass\n", admit.CSVImportRequest{EventID: ev.ID}, `row 2: 3 columns, the header has 6`},
		{"an unknown subevent", plain[:len(plain)-1] + ",subevent\nY1,paid,Pass,A,A,a@x,Day 9\n", admit.CSVImportRequest{EventID: ev.ID}, `row 2, column subevent: unknown subevent "Day 9"`},
		{"another organizer's event", plain, admit.CSVImportRequest{EventID: ev.ID, OrganizerID: ev.OrganizerID + 1000}, "not your organizer's"},
		{"an empty file", "", admit.CSVImportRequest{EventID: ev.ID}, "row 1: the CSV file is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := importCSV(c.file, c.req)
			if !strings.Contains(admit.ErrorMessage(err), c.msg) {
				t.Fatalf("error %v, want %q", err, c.msg)
			}
			if code := admit.ErrorCode(err); code != admit.EInvalid && code != admit.EForbidden {
				t.Errorf("code %s", code)
			}
			if got := ticketCount(t, core, ev.ID); got != 3 {
				t.Errorf("%d tickets after a refused import, want 3", got)
			}
		})
	}
}
