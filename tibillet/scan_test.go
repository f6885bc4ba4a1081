package tibillet_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// TestScanAnswers drives POST /scan/ticket/ through every answer: each case
// scans a ticket no other case admits, so the cases do not depend on each
// other's order.
func TestScanAnswers(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, kAny := f.device(t, "Door", "", "")
	_, kBound := f.device(t, "Bound door", "democon", "")
	_, kVIP := f.device(t, "VIP door", "democon", "VIP lounge")
	_, kPending := f.device(t, "Box office", "democon", "Pending door")

	jane := f.qr[uJane]
	sigOf := func(qr string) string { _, s, _ := strings.Cut(qr, ":"); return s }
	b64 := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }

	type scanCase struct {
		name      string
		key       string
		body      any // sent as is when set, else qrcode_data and event_uuid
		qr, event string
		status    int
		err       string // the error text, or its prefix when errPrefix
		errPrefix bool
		message   string // success false/true answers
		success   bool
		tstatus   string
	}
	cases := []scanCase{
		{name: "a paid ticket is admitted", key: kAny, qr: f.qr[uJohn], event: f.ev.UUID,
			status: 200, success: true, message: "Ticket successfully scanned", tstatus: "Valid and scanned"},
		{name: "a ticket of a canceled order is refused", key: kAny, qr: f.qr[uCarl], event: f.ev.UUID,
			status: 200, message: "Ticket canceled", tstatus: "Canceled"},
		{name: "a pending order is refused on a list without pending orders", key: kAny, qr: f.qr[uPeter],
			status: 200, message: "Ticket not paid", tstatus: "Created"},
		{name: "a blocked ticket is refused", key: kBound, qr: f.qr[uBob],
			status: 200, message: "Ticket blocked", tstatus: "Inactive"},
		{name: "a ticket before its valid_from is refused", key: kAny, qr: f.qr[uEarly], event: f.ev.UUID,
			status: 200, message: "Ticket not valid at this time", tstatus: "Valid and not scanned"},
		{name: "a ticket after its valid_until is refused", key: kAny, qr: f.qr[uLate],
			status: 200, message: "Ticket not valid at this time", tstatus: "Valid and not scanned"},
		{name: "a product on no entrance list is refused", key: kAny, qr: f.qr[uTee], event: f.ev.UUID,
			status: 200, message: "Ticket not valid for this entrance", tstatus: "Valid and not scanned"},
		{name: "the VIP lounge refuses a concert ticket", key: kVIP, qr: jane, event: f.ev.UUID,
			status: 200, message: "Ticket not valid for this entrance", tstatus: "Valid and not scanned"},
		{name: "the VIP lounge admits a VIP pass", key: kVIP, qr: f.qr[uVera], event: f.ev.UUID,
			status: 200, success: true, message: "Ticket successfully scanned", tstatus: "Valid and scanned"},
		{name: "a list that accepts pending orders admits one", key: kPending, qr: f.qr[uPaula], event: f.ev.UUID,
			status: 200, success: true, message: "Ticket successfully scanned", tstatus: "Valid and scanned"},

		{name: "a ticket of another event than event_uuid", key: kAny, qr: f.qr[uOscar], event: f.ev.UUID,
			status: 406, err: "Event error"},
		{name: "a device bound to an event scans another event's ticket", key: kBound, qr: f.qr[uOscar],
			status: 406, err: "Event error"},
		{name: "a device bound to an event scans for another event", key: kBound, qr: jane, event: f.other.UUID,
			status: 406, err: "Event error"},
		{name: "an unknown event_uuid", key: kAny, qr: jane, event: "99999999-9999-4999-8999-999999999999",
			status: 406, err: "Event error"},
		{name: "another organizer's event_uuid", key: kAny, qr: jane, event: f.foreign.UUID,
			status: 406, err: "Event error"},
		{name: "an event_uuid that is no uuid", key: kAny, qr: jane, event: "democon",
			status: 406, err: "Event error"},
		{name: "another organizer's ticket is not found", key: kAny, qr: f.qr[uGus],
			status: 404, err: "Ticket not found"},

		{name: "a forged signature", key: kAny, qr: flip(jane), event: f.ev.UUID,
			status: 400, err: "Invalid ticket signature"},
		{name: "a tampered payload naming an existing ticket is refused before any lookup", key: kAny,
			qr:     withPayload(f.qr[uJohn], `{"uuid": "`+uJane+`", "event": "`+f.ev.UUID+`"}`),
			status: 400, err: "Invalid ticket signature"},
		{name: "a tampered payload with an unknown uuid is 400, not 404", key: kAny,
			qr:     withPayload(jane, `{"uuid": "77777777-7777-4777-8777-777777777777", "event": "`+f.ev.UUID+`"}`),
			status: 400, err: "Invalid ticket signature"},
		{name: "a tampered uuid-only payload is 400, not 404", key: kAny,
			qr:     withPayload(jane, `{"uuid": "77777777-7777-4777-8777-777777777777"}`),
			status: 400, err: "Invalid ticket signature"},
		{name: "a signature from another organizer's event", key: kAny,
			qr:     strings.SplitN(jane, ":", 2)[0] + ":" + sigOf(f.qr[uGus]),
			status: 400, err: "Invalid ticket signature"},

		{name: "no colon", key: kAny, qr: strings.Replace(jane, ":", "", 1),
			status: 400, err: "Invalid QR code format"},
		{name: "two colons", key: kAny, qr: jane + ":extra",
			status: 400, err: "Invalid QR code format"},
		{name: "a payload that is not base64", key: kAny, qr: "!!!not base64!!!:" + sigOf(jane),
			status: 400, err: "Error decoding QR code data: ", errPrefix: true},
		{name: "a payload that is not JSON", key: kAny, qr: b64("hello world") + ":" + sigOf(jane),
			status: 400, err: "Error decoding QR code data: ", errPrefix: true},
		{name: "a payload without uuid", key: kAny, qr: b64(`{"id": "12"}`) + ":" + sigOf(jane),
			status: 400, err: "Ticket UUID not found in QR code data"},
		{name: "no qrcode_data", key: kAny, body: map[string]any{"event_uuid": f.ev.UUID},
			status: 400, err: "QR code data is required"},
		{name: "an empty qrcode_data", key: kAny, body: map[string]any{"qrcode_data": ""},
			status: 400, err: "QR code data is required"},
		{name: "an empty body", key: kAny, body: "",
			status: 400, err: "QR code data is required"},
		{name: "a qrcode_data that is no string", key: kAny, body: map[string]any{"qrcode_data": 42},
			status: 400, err: "qrcode_data: Not a valid string."},
		{name: "malformed JSON", key: kAny, body: `{"qrcode_data": `,
			status: 400, err: "JSON parse error", errPrefix: true},
		{name: "a JSON array", key: kAny, body: `["` + jane + `"]`,
			status: 400, err: "JSON parse error", errPrefix: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r = func() *admittest.Response {
				if c.body != nil {
					return f.call(t, "POST", "/scan/ticket/", c.key, c.body)
				}
				return f.scan(t, c.key, c.qr, c.event)
			}()
			want(t, r, c.status)
			m := r.JSON(t)
			if c.err != "" {
				e, _ := m["error"].(string)
				if (c.errPrefix && !strings.HasPrefix(e, c.err)) || (!c.errPrefix && e != c.err) {
					t.Fatalf("error %q, want %q; body %s", e, c.err, r.Body)
				}
				if c.errPrefix && len(e) <= len(c.err) {
					t.Fatalf("error %q says nothing after %q", e, c.err)
				}
				return
			}
			if m["success"] != c.success || m["message"] != c.message {
				t.Fatalf("success %v message %q, want %v %q; body %s", m["success"], m["message"], c.success, c.message, r.Body)
			}
			if got := obj(t, m, "ticket")["status"]; got != c.tstatus {
				t.Fatalf("ticket status %q, want %q", got, c.tstatus)
			}
		})
	}
}

func TestScanAnswerShapesAndScannedBy(t *testing.T) {
	t.Parallel()
	f := start(t)
	first, k1 := f.device(t, "Entrance Scanner", "", "")
	_, k2 := f.device(t, "Second Scanner", "", "")

	r := f.scan(t, k1, f.qr[uJohn], f.ev.UUID)
	want(t, r, http.StatusOK)
	m := r.JSON(t)
	if keys(m) != "message,reservation,success,ticket" || m["success"] != true || m["message"] != "Ticket successfully scanned" {
		t.Fatalf("success answer %s", r.Body)
	}
	tk := obj(t, m, "ticket")
	// As the seed shows it: no scanned_by and no is_scanned on a success.
	if got := keys(tk); got != "event,first_name,last_name,price,product,status,uuid" {
		t.Fatalf("ticket fields %s", got)
	}
	if tk["uuid"] != uJohn || tk["status"] != "Valid and scanned" || tk["event"] != eventName ||
		tk["first_name"] != "John" || tk["last_name"] != "Doe" || tk["price"] != "General Admission" ||
		tk["product"] != "Concert Ticket" {
		t.Fatalf("ticket %v", tk)
	}
	res := obj(t, m, "reservation")
	if keys(res) != "tickets_count,uuid" || res["uuid"] != oFOO || res["tickets_count"] != 2.0 {
		t.Fatalf("reservation %v", res)
	}

	// Already scanned: HTTP 200, success false, scanned_by the first device.
	for _, key := range []string{k2, k1} {
		r = f.scan(t, key, f.qr[uJohn], f.ev.UUID)
		want(t, r, http.StatusOK)
		m = r.JSON(t)
		if m["success"] != false || m["message"] != "Ticket already scanned" {
			t.Fatalf("second scan %s", r.Body)
		}
		tk = obj(t, m, "ticket")
		if got := keys(tk); got != "event,first_name,last_name,price,product,scanned_by,status,uuid" {
			t.Fatalf("already scanned ticket fields %s", got)
		}
		if tk["scanned_by"] != first.UUID || tk["status"] != "Valid and scanned" {
			t.Fatalf("already scanned ticket %v, want scanned_by %s", tk, first.UUID)
		}
		if obj(t, m, "reservation")["uuid"] != oFOO {
			t.Fatalf("reservation %v", m["reservation"])
		}
	}

	// A refusal for another reason than "already scanned" has scanned_by null.
	r = f.scan(t, k1, f.qr[uCarl], "")
	tk = obj(t, r.JSON(t), "ticket")
	if v, ok := tk["scanned_by"]; !ok || v != nil {
		t.Fatalf("refused, never scanned: scanned_by %v (present %v)", v, ok)
	}
	if obj(t, r.JSON(t), "reservation")["tickets_count"] != 1.0 {
		t.Fatalf("reservation %s", r.Body)
	}

	// Without a trailing slash too.
	r = f.call(t, "POST", "/scan/ticket", k1, map[string]any{"qrcode_data": f.qr[uJane]})
	want(t, r, http.StatusOK)
	if r.JSON(t)["message"] != "Ticket successfully scanned" {
		t.Fatalf("/scan/ticket: %s", r.Body)
	}
}

func TestCheckTicket(t *testing.T) {
	t.Parallel()
	f := start(t)
	scanner, key := f.device(t, "Door", "", "")
	_, kBound := f.device(t, "Bound door", "democon", "")

	checkJohn := func(wantScanned bool, wantBy any, wantStatus string) {
		t.Helper()
		r := f.check(t, key, f.qr[uJohn])
		want(t, r, http.StatusOK)
		m := r.JSON(t)
		if m["success"] != true || m["message"] != "Ticket information retrieved" {
			t.Fatalf("check %s", r.Body)
		}
		tk := obj(t, m, "ticket")
		if got := keys(tk); got != "event,first_name,is_scanned,last_name,price,product,scanned_by,status,uuid" {
			t.Fatalf("check ticket fields %s", got)
		}
		if tk["is_scanned"] != wantScanned || tk["scanned_by"] != wantBy || tk["status"] != wantStatus ||
			tk["uuid"] != uJohn || tk["event"] != eventName {
			t.Fatalf("check ticket %v", tk)
		}
		res := obj(t, m, "reservation")
		if res["uuid"] != oFOO || res["tickets_count"] != 2.0 {
			t.Fatalf("reservation %v", res)
		}
	}
	// A check writes nothing: after two checks the ticket is still admitted once.
	checkJohn(false, nil, "Valid and not scanned")
	checkJohn(false, nil, "Valid and not scanned")
	r := f.scan(t, key, f.qr[uJohn], "")
	if r.JSON(t)["message"] != "Ticket successfully scanned" {
		t.Fatalf("scan after checks: %s", r.Body)
	}
	checkJohn(true, scanner.UUID, "Valid and scanned")

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("qrcode_data", f.qr[uJane])
	mw.Close()
	cases := []struct {
		name    string
		key     string
		body    any
		ctype   string // the Content-Type of a []byte body
		status  int
		err     string
		message string
		tstatus string
	}{
		{name: "a canceled ticket", key: key, body: map[string]any{"qrcode_data": f.qr[uCarl]},
			status: 200, message: "Ticket canceled", tstatus: "Canceled"},
		{name: "a blocked ticket", key: key, body: map[string]any{"qrcode_data": f.qr[uBob]},
			status: 200, message: "Ticket blocked", tstatus: "Inactive"},
		{name: "an unpaid ticket", key: key, body: map[string]any{"qrcode_data": f.qr[uPeter]},
			status: 200, message: "Ticket not paid", tstatus: "Created"},
		{name: "event_uuid is not looked at", key: key,
			body:   map[string]any{"qrcode_data": f.qr[uJane], "event_uuid": f.other.UUID},
			status: 200, message: "Ticket information retrieved", tstatus: "Valid and not scanned"},
		{name: "a form body, as Django REST framework takes it", key: key,
			body: []byte("qrcode_data=" + url.QueryEscape(f.qr[uJane])), ctype: "application/x-www-form-urlencoded",
			status: 200, message: "Ticket information retrieved", tstatus: "Valid and not scanned"},
		{name: "a multipart form body, as Django REST framework takes it", key: key,
			body: mp.Bytes(), ctype: mw.FormDataContentType(),
			status: 200, message: "Ticket information retrieved", tstatus: "Valid and not scanned"},
		{name: "a multipart body without its boundary", key: key,
			body: mp.Bytes(), ctype: "multipart/form-data", status: 400},
		{name: "no qrcode_data is 406 here", key: key, body: map[string]any{},
			status: 406, err: "QR code data is required"},
		{name: "a forged signature", key: key, body: map[string]any{"qrcode_data": flip(f.qr[uJane])},
			status: 400, err: "Invalid ticket signature"},
		{name: "another organizer's ticket", key: key, body: map[string]any{"qrcode_data": f.qr[uGus]},
			status: 404, err: "Ticket not found"},
		{name: "a device bound to another event", key: kBound, body: map[string]any{"qrcode_data": f.qr[uOscar]},
			status: 406, err: "Event error"},
		{name: "malformed JSON", key: key, body: `{`, status: 400, err: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r *admittest.Response
			if raw, ok := c.body.([]byte); ok {
				r = f.env.Do(t, "POST", "/scan/check_ticket", raw, "Authorization", "Api-Key "+c.key,
					"Content-Type", c.ctype)
			} else {
				r = f.call(t, "POST", "/scan/check_ticket/", c.key, c.body)
			}
			want(t, r, c.status)
			m := r.JSON(t)
			if c.status != 200 {
				e, _ := m["error"].(string)
				if e == "" || (c.err != "" && e != c.err) {
					t.Fatalf("error %q, want %q", e, c.err)
				}
				return
			}
			if m["message"] != c.message || (m["success"] == true) != (c.message == "Ticket information retrieved") {
				t.Fatalf("check %s, want message %q", r.Body, c.message)
			}
			if got := obj(t, m, "ticket")["status"]; got != c.tstatus {
				t.Fatalf("status %q, want %q", got, c.tstatus)
			}
		})
	}
	// None of the checks admitted Jane.
	r = f.scan(t, key, f.qr[uJane], f.ev.UUID)
	if r.JSON(t)["message"] != "Ticket successfully scanned" {
		t.Fatalf("Jane after checks: %s", r.Body)
	}
}

func TestReimportThatCancelsAnOrderRefusesItsTicketsFromThenOn(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, key := f.device(t, "Door", "", "")
	r := f.check(t, key, f.qr[uRita])
	if r.JSON(t)["success"] != true {
		t.Fatalf("before: %s", r.Body)
	}
	canceled := strings.Replace(mainFixture, `"code": "RIT", "status": "paid"`, `"code": "RIT", "status": "canceled"`, 1)
	if canceled == mainFixture {
		t.Fatal("fixture edit did not apply")
	}
	res := f.env.Import(t, canceled)
	for _, tk := range res.Tickets {
		if tk.QRCode != f.qr[tk.UUID] {
			t.Fatalf("re-import changed the QR code of %s", tk.UUID)
		}
	}
	for _, path := range []string{"/scan/check_ticket/", "/scan/ticket/"} {
		r = f.call(t, "POST", path, key, map[string]any{"qrcode_data": f.qr[uRita], "event_uuid": f.ev.UUID})
		want(t, r, http.StatusOK)
		m := r.JSON(t)
		if m["success"] != false || m["message"] != "Ticket canceled" || obj(t, m, "ticket")["status"] != "Canceled" {
			t.Fatalf("%s after the cancel: %s", path, r.Body)
		}
	}
}

// TestFiftyConcurrentScansAdmitOnce: 50 devices scan one ticket at the same
// instant; exactly one is admitted, 49 are told it is already scanned, by
// the winner.
func TestFiftyConcurrentScansAdmitOnce(t *testing.T) {
	t.Parallel()
	f := start(t)
	const n = 50
	devices := make([]*admit.Device, n)
	keys := make([]string, n)
	for i := range n {
		devices[i], keys[i] = f.device(t, "Scanner "+string(rune('A'+i%26))+string(rune('a'+i/26)), "", "")
	}
	body, _ := json.Marshal(map[string]any{"qrcode_data": f.qr[uJohn], "event_uuid": f.ev.UUID})
	type result struct {
		status    int
		success   any
		message   any
		scannedBy any
		err       error
	}
	results := make([]result, n)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()

	var ready, done sync.WaitGroup
	barrier := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			req, err := http.NewRequest("POST", f.env.URL+"/scan/ticket/", bytes.NewReader(body))
			if err != nil {
				results[i].err = err
				ready.Done()
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Api-Key "+keys[i])
			ready.Done()
			<-barrier
			resp, err := client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				results[i].err = err
				return
			}
			results[i] = result{status: resp.StatusCode, success: m["success"], message: m["message"]}
			if tk, ok := m["ticket"].(map[string]any); ok {
				results[i].scannedBy = tk["scanned_by"]
			}
		}()
	}
	ready.Wait()
	close(barrier)
	done.Wait()

	winner := -1
	already := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		if r.status != http.StatusOK {
			t.Fatalf("request %d: status %d", i, r.status)
		}
		switch {
		case r.success == true && r.message == "Ticket successfully scanned":
			if winner >= 0 {
				t.Fatalf("two admissions: devices %d and %d", winner, i)
			}
			winner = i
		case r.success == false && r.message == "Ticket already scanned":
			already++
		default:
			t.Fatalf("request %d: success %v message %v", i, r.success, r.message)
		}
	}
	if winner < 0 || already != n-1 {
		t.Fatalf("%d admitted, %d already scanned; want 1 and %d", map[bool]int{true: 1}[winner >= 0], already, n-1)
	}
	for i, r := range results {
		if i != winner && r.scannedBy != devices[winner].UUID {
			t.Fatalf("request %d: scanned_by %v, want the winner %s", i, r.scannedBy, devices[winner].UUID)
		}
	}
	// Every attempt is in the scan log, one of them admitted.
	tk, err := f.env.Core.Store.TicketByUUID(context.Background(), uJohn)
	if err != nil {
		t.Fatal(err)
	}
	scans, total, err := f.env.Core.Store.Scans(context.Background(), admit.ScanFilter{TicketID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, s := range scans {
		if s.Result == admit.ReasonOK {
			ok++
		}
	}
	if total != n || ok != 1 {
		t.Fatalf("scan log: %d rows (total %d), %d admitted; want %d and 1", len(scans), total, ok, n)
	}
}
