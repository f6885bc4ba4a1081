package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/admitdev/admit/admittest"
)

// Several `admit serve` processes on one PostgreSQL database behind a load
// balancer: everything a client can do through one node is seen by the
// other at once, and a ticket is admitted exactly once across both.

// multiEventJSON is the event the two-node test imports; %s is the status
// of order CXL.
const multiEventJSON = `{
  "organizer": {"slug": "multiorga", "name": "Multi Node Organization", "domain": "gates.example.org"},
  "event": {"slug": "gates", "name": "Many Gates", "date_from": "2026-12-27T17:00:00Z", "date_to": "2026-12-30T18:00:00Z"},
  "sections": [{"name": "Floor", "description": "Standing area"}, {"name": "Balcony", "description": "Seats"}],
  "products": [{"name": "Concert Ticket", "admission": true, "variations": []}],
  "orders": [
    {"code": "RACE", "status": "paid", "email": "race@example.org", "tickets": [
      {"product": "Concert Ticket", "first_name": "Ada", "last_name": "Race", "section": "Floor"},
      {"product": "Concert Ticket", "first_name": "Bob", "last_name": "Race", "section": "Floor"},
      {"product": "Concert Ticket", "first_name": "Cy", "last_name": "Race", "section": "Floor"}]},
    {"code": "CXL", "status": "%s", "email": "cxl@example.org", "tickets": [
      {"product": "Concert Ticket", "first_name": "Dee", "last_name": "Cancel", "section": "Floor"}]},
    {"code": "STAFF", "status": "paid", "email": "staff@example.org", "tickets": [
      {"product": "Concert Ticket", "first_name": "Eve", "last_name": "Staff", "section": "Floor"},
      {"product": "Concert Ticket", "first_name": "Fay", "last_name": "Staff", "section": "Balcony"}]},
    {"code": "PRETIX", "status": "paid", "email": "pretix@example.org", "tickets": [
      {"product": "Concert Ticket", "first_name": "Gus", "last_name": "Nonce", "section": "Floor"},
      {"product": "Concert Ticket", "first_name": "Hal", "last_name": "Nonce", "section": "Floor"}]}
  ]
}`

// Ticket indexes in the import output of multiEventJSON.
const (
	tRace0 = iota
	tRace1
	tRace2
	tCanceled
	tStaffFloor
	tStaffBalcony
	tPretix0
	tPretix1
	multiTickets
)

// The load balancer's URL, the public URL every node is given.
const lbURL = "https://gates.example.org"

type multiImport struct {
	Event struct {
		UUID string
		ID   int64
	}
	Tickets []struct {
		UUID, Secret, Serial, Order string
		QRCodeData                  string `json:"qrcode_data"`
	}
}

// Two real server processes on one throw-away PostgreSQL database.
func TestTwoNodesOnePostgres(t *testing.T) {
	db := admittest.PostgresDSN(t)

	// Both nodes start at the same moment on the fresh database, and an
	// import starts with them: three processes migrate at once, one at a
	// time behind the advisory lock, and all three succeed.
	var imp multiImport
	importDone := make(chan error, 1)
	var nodes [2]*node
	var stdouts [2]io.Reader
	go func() {
		importDone <- cli(&imp, fmt.Sprintf(multiEventJSON, "paid"), "import", "-", "--tickets", "--db", db)
	}()
	for i, name := range []string{"A", "B"} {
		n, stdout, err := launch(name, db)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i], stdouts[i] = n, stdout
		t.Cleanup(func() {
			n.stop()
			if t.Failed() {
				t.Logf("node %s log:\n%s", n.name, n.logs())
			}
		})
	}
	ready := make([]error, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); ready[i] = nodes[i].waitReady(stdouts[i], 60*time.Second) }()
	}
	wg.Wait()
	if err := errors.Join(append(ready, <-importDone)...); err != nil {
		t.Fatalf("concurrent start on a fresh database: %v", err)
	}
	if len(imp.Tickets) != multiTickets {
		t.Fatalf("import made %d tickets, want %d", len(imp.Tickets), multiTickets)
	}
	a, b := nodes[0], nodes[1]
	other := func(n *node) *node {
		if n == a {
			return b
		}
		return a
	}

	// 50 devices, created through the CLI, paired alternately through
	// either node: the pairing tokens live in the database.
	const n = 50
	devs := make([]deviceOut, n)
	keys := make([]string, n)
	pairedOn := make([]*node, n)
	{
		errs := make([]error, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[i] = cli(&devs[i], "", "device", "create", "--db", db, "--organizer", "multiorga", "--name", fmt.Sprintf("Gate %d", i))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		pairedOn[i] = nodes[i%2]
		keys[i] = pair(t, &server{URL: pairedOn[i].URL}, devs[i])
	}

	t.Run("a device paired on one node is accepted on the other", func(t *testing.T) {
		for _, i := range []int{0, 1} {
			for _, nd := range nodes {
				r := must(t, "GET", nd.URL+"/scan/test_api/", nil, apiKey(keys[i])...)
				if r.status != 200 || r.obj()["message"] != "API key is valid" {
					t.Errorf("device paired on %s, test_api on %s: %v", pairedOn[i].name, nd.name, r)
				}
			}
		}
	})

	t.Run("a pairing token is single-use across nodes", func(t *testing.T) {
		var dev deviceOut
		if err := cli(&dev, "", "device", "create", "--db", db, "--organizer", "multiorga", "--name", "Contested"); err != nil {
			t.Fatal(err)
		}
		const tries = 10
		res := together(t, tries, func(i int) (answer, error) {
			return send(http.DefaultClient, "GET", nodes[i%2].URL+"/scan/"+dev.PairingToken+"/pair", nil)
		})
		var key string
		for _, r := range res {
			if r.status == 200 {
				if key != "" {
					t.Fatalf("the token paired twice: %v", res)
				}
				key, _ = r.obj()["api_key"].(string)
			} else if r.status != 400 || r.obj()["error"] == nil {
				t.Errorf("refused pairing: %v, want 400 with an error", r)
			}
		}
		if key == "" {
			t.Fatalf("no pairing succeeded: %v", res)
		}
		for _, nd := range nodes {
			if r := must(t, "GET", nd.URL+"/scan/test_api/", nil, apiKey(key)...); r.status != 200 {
				t.Errorf("the one key made on pairing, on %s: %v", nd.name, r)
			}
			if r := must(t, "GET", nd.URL+"/scan/"+dev.PairingToken+"/pair", nil); r.status == 200 {
				t.Errorf("the used token paired again on %s: %v", nd.name, r)
			}
		}
	})

	t.Run("50 concurrent scans of one ticket across two nodes admit it once", func(t *testing.T) {
		// Each round: one ticket, 50 devices at the same instant, each on the
		// node it did NOT pair on, so half the scans go to each node.
		for round, ti := range []int{tRace0, tRace1, tRace2} {
			qr := imp.Tickets[ti].QRCodeData
			res := together(t, n, func(i int) (answer, error) {
				return send(http.DefaultClient, "POST", other(pairedOn[i]).URL+"/scan/ticket/", map[string]string{"qrcode_data": qr}, apiKey(keys[i])...)
			})
			winner, already := -1, 0
			perNode := map[string]int{}
			for i, r := range res {
				m := r.obj()
				switch {
				case r.status == 200 && m["success"] == true && m["message"] == "Ticket successfully scanned":
					if winner >= 0 {
						t.Errorf("round %d: admitted twice, by devices %d and %d", round, winner, i)
					}
					winner = i
				case r.status == 200 && m["success"] == false && m["message"] == "Ticket already scanned":
					already++
				default:
					t.Errorf("round %d: unexpected answer to device %d: %v", round, i, r)
				}
				perNode[other(pairedOn[i]).name]++
			}
			if winner < 0 || already != n-1 {
				t.Fatalf("round %d: %d admitted and %d already scanned, want 1 and %d", round, btoi(winner >= 0), already, n-1)
			}
			if perNode["A"] != n/2 || perNode["B"] != n/2 {
				t.Fatalf("scans per node: %v", perNode)
			}
			// Both nodes now see the ticket as scanned, by the winner.
			for _, nd := range nodes {
				r := must(t, "POST", nd.URL+"/scan/check_ticket/", map[string]string{"qrcode_data": qr}, apiKey(keys[0])...)
				tk, _ := r.obj()["ticket"].(map[string]any)
				if r.status != 200 || tk["status"] != "Valid and scanned" || tk["scanned_by"] != devs[winner].UUID {
					t.Errorf("round %d: check_ticket on %s: %v; want scanned by %s", round, nd.name, r, devs[winner].UUID)
				}
			}
		}
	})

	t.Run("a device archived through the CLI is refused on both nodes at once", func(t *testing.T) {
		const i = 2
		for _, nd := range nodes {
			if r := must(t, "GET", nd.URL+"/scan/test_api/", nil, apiKey(keys[i])...); r.status != 200 {
				t.Fatalf("before archiving, on %s: %v", nd.name, r)
			}
		}
		var arch map[string]any
		if err := cli(&arch, "", "device", "archive", devs[i].UUID, "--db", db); err != nil || arch["archived"] != true {
			t.Fatalf("archive: %v %v", arch, err)
		}
		for _, nd := range nodes {
			r := must(t, "GET", nd.URL+"/scan/test_api/", nil, apiKey(keys[i])...)
			if r.status != 403 || r.obj()["detail"] != "App is archived." {
				t.Errorf("test_api on %s after archiving: %v", nd.name, r)
			}
			r = must(t, "POST", nd.URL+"/scan/ticket/", map[string]string{"qrcode_data": imp.Tickets[tRace0].QRCodeData}, apiKey(keys[i])...)
			if r.status != 403 || r.obj()["detail"] != "App is archived." {
				t.Errorf("scan on %s after archiving: %v", nd.name, r)
			}
		}
		// Other devices are untouched.
		if r := must(t, "GET", a.URL+"/scan/test_api/", nil, apiKey(keys[i+1])...); r.status != 200 {
			t.Errorf("another device after archiving: %v", r)
		}
	})

	t.Run("a re-import that cancels an order is seen by both nodes", func(t *testing.T) {
		qr := imp.Tickets[tCanceled].QRCodeData
		for _, nd := range nodes {
			r := must(t, "POST", nd.URL+"/scan/check_ticket/", map[string]string{"qrcode_data": qr}, apiKey(keys[0])...)
			tk, _ := r.obj()["ticket"].(map[string]any)
			if r.status != 200 || tk["status"] != "Valid and not scanned" {
				t.Fatalf("before the re-import, on %s: %v", nd.name, r)
			}
		}
		var again multiImport
		if err := cli(&again, fmt.Sprintf(multiEventJSON, "canceled"), "import", "-", "--tickets", "--db", db); err != nil {
			t.Fatal(err)
		}
		if again.Tickets[tCanceled].QRCodeData != qr {
			t.Fatalf("the re-import changed the ticket's QR code")
		}
		for _, nd := range nodes {
			r := must(t, "POST", nd.URL+"/scan/ticket/", map[string]string{"qrcode_data": qr}, apiKey(keys[1])...)
			m := r.obj()
			if r.status != 200 || m["success"] != false || !strings.Contains(strings.ToLower(fmt.Sprint(m["message"])), "cancel") {
				t.Errorf("scan of the canceled ticket on %s: %v", nd.name, r)
			}
		}
	})

	t.Run("pretixdroid: a nonce retried on the other node records one check-in", func(t *testing.T) {
		var key struct{ Key string }
		if err := cli(&key, "", "pretixdroid", "key", "--event", "multiorga/gates", "--db", db); err != nil || key.Key == "" {
			t.Fatalf("pretixdroid key: %+v %v", key, err)
		}
		redeem := func(nd *node, ticket int, nonce string) (answer, error) {
			return send(http.DefaultClient, "POST", nd.URL+"/pretixdroid/api/multiorga/gates/redeem/?key="+url.QueryEscape(key.Key),
				url.Values{"secret": {imp.Tickets[ticket].Secret}, "nonce": {nonce}})
		}
		status := func(r answer) string {
			m := r.obj()
			return fmt.Sprint(m["status"], "/", m["reason"])
		}
		// One after the other: an upload on A, its retry on B.
		for _, step := range []struct {
			nd    *node
			nonce string
			want  string
		}{
			{a, "n-1", "ok/<nil>"},
			{b, "n-1", "ok/<nil>"},
			{b, "n-2", "error/already_redeemed"},
			{a, "n-2", "error/already_redeemed"},
		} {
			r, err := redeem(step.nd, tPretix0, step.nonce)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != 200 || status(r) != step.want {
				t.Errorf("redeem on %s with nonce %s: %v, want %s", step.nd.name, step.nonce, r, step.want)
			}
		}
		// At the same instant: an app that gave up waiting on A retries on
		// B while A still works on the first upload.
		res := together(t, 10, func(i int) (answer, error) { return redeem(nodes[i%2], tPretix1, "n-3") })
		for i, r := range res {
			if r.status != 200 || status(r) != "ok/<nil>" {
				t.Errorf("concurrent upload %d of one nonce on %s: %v, want ok", i, nodes[i%2].name, r)
			}
		}
		if r, err := redeem(b, tPretix1, "n-4"); err != nil || status(r) != "error/already_redeemed" {
			t.Errorf("another nonce after the concurrent uploads: %v %v", r, err)
		}
	})

	t.Run("TickeTing: tokens, staff keys and their revocation are shared", func(t *testing.T) {
		var mgmt struct{ Key string }
		if err := cli(&mgmt, "", "apikey", "create", "--organizer", "multiorga", "--name", "Box office", "--db", db); err != nil || mgmt.Key == "" {
			t.Fatalf("apikey create: %+v %v", mgmt, err)
		}
		ev := fmt.Sprintf("/v3/events/%d", imp.Event.ID)
		r := must(t, "GET", b.URL+ev, nil, ticketingHeaders(mgmt.Key)...)
		var event struct {
			Self     string
			Sections []struct{ Self, Name string }
		}
		if err := json.Unmarshal(r.body, &event); r.status != 200 || err != nil || len(event.Sections) != 2 {
			t.Fatalf("event on B: %v", r)
		}
		floor := ""
		for _, s := range event.Sections {
			if s.Name == "Floor" {
				floor = event.Self + s.Self
			}
		}
		// A token issued on A; staff log in with its code on B.
		r = must(t, "POST", a.URL+ev+"/tokens", map[string]any{"sections": []string{floor}}, ticketingHeaders(mgmt.Key)...)
		tok := r.obj()
		if r.status != 201 || tok["code"] == nil {
			t.Fatalf("issue a token on A: %v", r)
		}
		r = must(t, "GET", b.URL+"/v3/tokens/"+tok["code"].(string), nil, "X-Client-Version", "3.0.0")
		staff, _ := r.obj()["key"].(string)
		if r.status != 200 || staff == "" {
			t.Fatalf("staff login on B: %v", r)
		}
		// The staff key works on A, and admits its section's ticket there.
		if r := must(t, "GET", a.URL+ev+"/tickets", nil, ticketingHeaders(staff)...); r.status != 200 {
			t.Fatalf("staff key on A: %v", r)
		}
		r = must(t, "POST", a.URL+ev+"/admissions", map[string]any{"redeemer": "Eve", "device": "Phone", "serials": []string{imp.Tickets[tStaffFloor].Serial}}, ticketingHeaders(staff)...)
		if r.status != 201 || !bytes.Contains(r.body, []byte(imp.Tickets[tStaffFloor].Serial)) {
			t.Fatalf("staff admits on A: %v", r)
		}
		// The patron is already scanned on B's TiBillet API.
		r = must(t, "POST", b.URL+"/scan/ticket/", map[string]string{"qrcode_data": imp.Tickets[tStaffFloor].QRCodeData}, apiKey(keys[3])...)
		if r.status != 200 || r.obj()["message"] != "Ticket already scanned" {
			t.Errorf("TiBillet scan on B of a patron admitted on A: %v", r)
		}
		// Invalidating the token on B revokes the staff key on A at once.
		if r := must(t, "DELETE", b.URL+ev+"/tokens/"+lastSegment(fmt.Sprint(tok["self"])), nil, ticketingHeaders(mgmt.Key)...); r.status/100 != 2 {
			t.Fatalf("delete the token on B: %v", r)
		}
		for _, nd := range nodes {
			if r := must(t, "GET", nd.URL+ev+"/tickets", nil, ticketingHeaders(staff)...); r.status != 403 {
				t.Errorf("revoked staff key on %s: %v, want 403", nd.name, r)
			}
		}
	})

	t.Run("TickeTing: the limit on guessing token codes counts across nodes", func(t *testing.T) {
		// From a client address of its own (127.0.0.2), so that nothing else
		// in this test has counted for it.
		guesser := clientFrom(t, "127.0.0.2")
		// The limit is a window of one minute: do not start at its edge.
		if s := time.Now().Second(); s >= 57 {
			time.Sleep(time.Duration(61-s) * time.Second)
		}
		guess := func(nd *node, i int) answer {
			r, err := send(guesser, "GET", nd.URL+fmt.Sprintf("/v3/tokens/ZZ%06d", i), nil, "X-Client-Version", "3.0.0")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for i := range 20 {
			nd := nodes[i%2]
			if r := guess(nd, i); r.status != 404 {
				t.Fatalf("unknown code %d on %s: %v, want 404", i+1, nd.name, r)
			}
		}
		for _, nd := range nodes {
			if r := guess(nd, 99); r.status != 429 {
				t.Errorf("code 21+ on %s after 10 unknown codes on each node: %v, want 429", nd.name, r)
			}
		}
		// Another client is not limited.
		if r := must(t, "GET", a.URL+"/v3/tokens/ZZ999999", nil, "X-Client-Version", "3.0.0"); r.status != 404 {
			t.Errorf("another client address: %v, want 404", r)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func lastSegment(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// clientFrom returns an HTTP client whose connections come from the
// loopback address ip (Linux answers the whole of 127.0.0.0/8).
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	if c, err := d.DialContext(context.Background(), "tcp", "127.0.0.1:1"); err != nil && strings.Contains(err.Error(), "assign requested address") {
		t.Skipf("cannot connect from %s: %v", ip, err)
	} else if c != nil {
		c.Close()
	}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
