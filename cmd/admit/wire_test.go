package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

const scanAppFixture = `{
  "organizer": {"slug": "demoorga", "name": "Demo Organizer"},
  "event": {"slug": "democon", "name": "Demo Conference", "date_from": "2099-05-01T18:00:00Z", "date_to": "2099-05-02T02:00:00Z"},
  "products": [{"name": "Ticket"}],
  "orders": [{"code": "PAID1", "tickets": [{"product": "Ticket", "first_name": "Marie", "last_name": "Curie"}]}]
}`

const scanAppOtherOrganizer = `{
  "organizer": {"slug": "globex", "name": "Globex"},
  "event": {"slug": "expo", "name": "Expo", "date_from": "2099-06-01T18:00:00Z"},
  "products": [{"name": "Ticket"}]
}`

// TiBillet's Scan app, as it runs against admit: it pairs with the pair URL
// that `admit device create` prints, keeps everything before "/scan/" as
// its base, loads the events with no key (only its organizer's, the ended
// ones left out) and one event with its public key, then scans under the
// same base.
func TestScanAppPairsWithThePrintedPairURLAndLoadsItsOrganizersEvents(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "admit.db")
	var tickets struct {
		Event struct {
			UUID         string `json:"uuid"`
			PublicKeyPEM string `json:"public_key_pem"`
		}
		Tickets []struct {
			QRCodeData string `json:"qrcode_data"`
		}
	}
	for i, fx := range []string{scanAppFixture, scanAppOtherOrganizer} {
		file := filepath.Join(dir, "import"+string(rune('0'+i))+".json")
		if err := os.WriteFile(file, []byte(fx), 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, err := runCLI(t, "import", file, "--db", db, "--tickets")
		if err != nil {
			t.Fatalf("import: %v: %s", err, stderr)
		}
		if i == 0 {
			if err := json.Unmarshal([]byte(stdout), &tickets); err != nil || len(tickets.Tickets) != 1 {
				t.Fatalf("import output: %v\n%s", err, stdout)
			}
		}
	}
	srv := httptest.NewUnstartedServer(nil)
	pub := "http://" + srv.Listener.Addr().String()
	stdout, stderr, err := runCLI(t, "device", "create", "--organizer", "demoorga", "--name", "Gate 1", "--db", db, "--public-url", pub)
	if err != nil {
		t.Fatalf("device create: %v: %s", err, stderr)
	}
	var dev struct {
		PairURL string `json:"pair_url"`
	}
	if err := json.Unmarshal([]byte(stdout), &dev); err != nil {
		t.Fatalf("device create output: %v\n%s", err, stdout)
	}
	core := admittest.OpenCore(t, db)
	srv.Config.Handler = server.New(core, server.Config{Logger: core.Log, PublicURL: pub})
	srv.Start()
	defer srv.Close()

	r := admittest.Do(t, "GET", dev.PairURL, nil)
	key, _ := r.JSON(t)["api_key"].(string)
	if r.Status != 200 || key == "" {
		t.Fatalf("pair with %s: %d %s", dev.PairURL, r.Status, r.Body)
	}
	i := strings.Index(dev.PairURL, "/scan/")
	if i < 0 {
		t.Fatalf("pair_url %s has no /scan/", dev.PairURL)
	}
	base := dev.PairURL[:i]

	r = admittest.Do(t, "GET", base+"/api/events?only_futur=true", nil, "Accept", "application/json")
	var evs []map[string]any
	if err := json.Unmarshal(r.Body, &evs); r.Status != 200 || err != nil {
		t.Fatalf("events: %d %v %s", r.Status, err, r.Body)
	}
	if len(evs) != 1 || evs[0]["uuid"] != tickets.Event.UUID || evs[0]["name"] != "Demo Conference" ||
		evs[0]["startDate"] != "2099-05-01T18:00:00Z" || evs[0]["publicKeyPem"] != tickets.Event.PublicKeyPEM {
		t.Fatalf("the app's events (demoorga's only): %s", r.Body)
	}
	r = admittest.Do(t, "GET", base+"/api/events/"+tickets.Event.UUID+"/", nil, "Accept", "application/json")
	if r.Status != 200 || r.JSON(t)["publicKeyPem"] != tickets.Event.PublicKeyPEM || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("one event: %d %s", r.Status, r.Body)
	}
	r = admittest.Do(t, "POST", base+"/scan/ticket/", map[string]string{"qrcode_data": tickets.Tickets[0].QRCodeData,
		"event_uuid": tickets.Event.UUID}, "Authorization", "Api-Key "+key)
	if r.Status != 200 || r.JSON(t)["success"] != true {
		t.Fatalf("scan under the base: %d %s", r.Status, r.Body)
	}
}
