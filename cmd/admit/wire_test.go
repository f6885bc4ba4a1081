package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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

const allDaysFixture = `{
  "organizer": {"slug": "demoorga", "name": "Demo Organizer"},
  "event": {"slug": "festival", "subevents": [{"name": "Day 1"}, {"name": "Day 2"}]},
  "products": [{"name": "Day pass"}],
  "lists": [{"name": "All days", "default": true}],
  "orders": [{"code": "D2", "tickets": [{"product": "Day pass", "subevent": "Day 2", "secret": "daytwo00000000000000000000000001"}]}]
}`

// `admit pretixdroid key --list "All days"` makes a key for a list of every
// date of a series: without --subevent its setup URL names no date (the
// app is refused until its URL names one, as pretix does); with one, the
// URL names that date, and the URL's date selects the date of every call.
func TestPretixdroidKeyForAListOfEveryDate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "admit.db")
	file := filepath.Join(dir, "series.json")
	if err := os.WriteFile(file, []byte(allDaysFixture), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runCLI(t, "import", file, "--db", db); err != nil {
		t.Fatalf("import: %v: %s", err, stderr)
	}
	srv := httptest.NewUnstartedServer(nil)
	pub := "http://" + srv.Listener.Addr().String()
	keyFor := func(args ...string) keyOutput {
		t.Helper()
		stdout, stderr, err := runCLI(t, append([]string{"pretixdroid", "key", "--db", db, "--public-url", pub,
			"--event", "demoorga/festival", "--list", "All days"}, args...)...)
		if err != nil {
			t.Fatalf("pretixdroid key %v: %v: %s", args, err, stderr)
		}
		var o keyOutput
		if err := json.Unmarshal([]byte(stdout), &o); err != nil {
			t.Fatalf("output: %v\n%s", err, stdout)
		}
		return o
	}
	noDate := keyFor()
	day2 := keyFor("--subevent", "Day 2")
	core := admittest.OpenCore(t, db)
	srv.Config.Handler = server.New(core, server.Config{Logger: core.Log, PublicURL: pub})
	srv.Start()
	defer srv.Close()
	subs, err := core.Store.Subevents(context.Background(), mustEvent(t, core, "festival"))
	if err != nil || len(subs) != 2 {
		t.Fatalf("subevents %v: %v", subs, err)
	}
	day1ID, day2ID := strconv.FormatInt(subs[0].ID, 10), strconv.FormatInt(subs[1].ID, 10)
	base := pub + "/pretixdroid/api/demoorga/festival/"
	if noDate.Setup.URL != base || day2.Setup.URL != base+day2ID+"/" {
		t.Fatalf("setup URLs %s and %s", noDate.Setup.URL, day2.Setup.URL)
	}
	status := func(u, key string) (int, string) {
		r := admittest.Do(t, "GET", u+"status/?key="+url.QueryEscape(key), nil)
		if r.Status != 200 {
			return r.Status, string(r.Body)
		}
		ev, _ := r.JSON(t)["event"].(map[string]any)
		return r.Status, fmt.Sprint(ev["name"])
	}
	cases := []struct {
		name, url, key string
		status         int
		body           string
	}{
		{"no date: its setup URL is refused", noDate.Setup.URL, noDate.Key, 403, "No subevent selected."},
		{"no date: the URL selects day 1", base + day1ID + "/", noDate.Key, 200, "Day 1"},
		{"set up for day 2: its setup URL", day2.Setup.URL, day2.Key, 200, "Day 2"},
		{"set up for day 2: the URL selects day 1", base + day1ID + "/", day2.Key, 200, "Day 1"},
		{"set up for day 2: no date in the URL", base, day2.Key, 403, "No subevent selected."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if st, body := status(c.url, c.key); st != c.status || body != c.body {
				t.Errorf("status/ %d %q, want %d %q", st, body, c.status, c.body)
			}
		})
	}
}
