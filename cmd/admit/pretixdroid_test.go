package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

const pretixdroidCLIFixture = `{
  "organizer": {"slug": "demoorga", "name": "Demo Organizer"},
  "event": {"slug": "democon", "name": "Demo Conference"},
  "products": [{"name": "Ticket"}],
  "lists": [{"name": "Main", "default": true}, {"name": "Side"}],
  "orders": [{"code": "PAID1", "tickets": [
    {"product": "Ticket", "first_name": "Marie", "last_name": "Curie", "secret": "s3cr3t0000000000000000000000000b"}]}]
}`

const pretixdroidCLISeries = `{
  "organizer": {"slug": "demoorga"},
  "event": {"slug": "festival", "subevents": [{"name": "Day 1"}, {"name": "Day 2"}]},
  "products": [{"name": "Day pass"}],
  "orders": [{"code": "D1", "tickets": [{"product": "Day pass", "subevent": "Day 1", "secret": "dayone00000000000000000000000001"}]}]
}`

// runCLI runs the command line with a clean environment.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(string) string { return "" }
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

type keyOutput struct {
	Key   string `json:"key"`
	Setup struct {
		Version     int    `json:"version"`
		URL         string `json:"url"`
		Key         string `json:"key"`
		AllowSearch bool   `json:"allow_search"`
		ShowInfo    bool   `json:"show_info"`
	} `json:"setup"`
}

// The key command prints the key and the setup the app's QR code holds, and
// that setup works against a server on the same database.
func TestPretixdroidKeyCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "admit.db")
	for i, fx := range []string{pretixdroidCLIFixture, pretixdroidCLISeries} {
		file := filepath.Join(dir, "import"+string(rune('0'+i))+".json")
		if err := os.WriteFile(file, []byte(fx), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, errOut, err := runCLI(t, "import", file, "--db", db); err != nil {
			t.Fatalf("import: %v: %s", err, errOut)
		}
	}
	srv := httptest.NewUnstartedServer(nil)
	pub := "http://" + srv.Listener.Addr().String()

	type made struct {
		name   string
		out    keyOutput
		list   string // "" for the series key
		series bool
	}
	cases := []struct {
		name       string
		args       []string
		wantURL    string
		wantSearch bool
		wantList   string
		qr         bool
	}{
		{"default list", []string{"--event", "demoorga/democon"}, pub + "/pretixdroid/api/demoorga/democon/", true, "Main", false},
		{"named list, no search, flags after", []string{"--list", "Side", "--event", "demoorga/democon", "--no-search"}, pub + "/pretixdroid/api/demoorga/democon/", false, "Side", false},
		{"with the QR code", []string{"--event", "demoorga/democon", "--qr"}, pub + "/pretixdroid/api/demoorga/democon/", true, "Main", true},
		{"a date of a series", []string{"--event", "demoorga/festival", "--subevent", "Day 1"}, pub + "/pretixdroid/api/demoorga/festival/", true, "", false},
	}
	var outs []made
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"pretixdroid", "key", "--db", db, "--public-url", pub + "/"}, c.args...)
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("pretixdroid key: %v: %s", err, stderr)
			}
			var o keyOutput
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&o); err != nil {
				t.Fatalf("stdout is not the key JSON: %v\n%s", err, stdout)
			}
			s := o.Setup
			if o.Key == "" || s.Key != o.Key || s.Version != 3 || !strings.HasPrefix(s.URL, c.wantURL) ||
				s.AllowSearch != c.wantSearch || !s.ShowInfo {
				t.Errorf("output = %+v, want url %s, allow_search %v", o, c.wantURL, c.wantSearch)
			}
			if c.wantList != "" && s.URL != c.wantURL {
				t.Errorf("url %s, want %s", s.URL, c.wantURL)
			}
			if hasQR := strings.ContainsAny(stderr, "█▀▄"); hasQR != c.qr {
				t.Errorf("QR code shown: %v, want %v\n%s", hasQR, c.qr, stderr)
			}
			outs = append(outs, made{c.name, o, c.wantList, c.wantList == ""})
		})
	}

	// Each setup works as the app uses it.
	core := admittest.OpenCore(t, db)
	srv.Config.Handler = server.New(core, server.Config{Logger: core.Log, PublicURL: pub})
	srv.Start()
	defer srv.Close()
	for _, m := range outs {
		t.Run("setup works: "+m.name, func(t *testing.T) {
			u := m.out.Setup.URL
			if m.series {
				subs, err := core.Store.Subevents(context.Background(), mustEvent(t, core, "festival"))
				if err != nil || len(subs) == 0 {
					t.Fatalf("subevents: %v", err)
				}
				if !strings.HasSuffix(u, "/festival/"+strconv.FormatInt(subs[0].ID, 10)+"/") {
					t.Errorf("url %s does not end in day 1's id %d", u, subs[0].ID)
				}
			}
			r := admittest.Do(t, "GET", u+"status/?key="+url.QueryEscape(m.out.Key), nil)
			if r.Status != 200 {
				t.Fatalf("status/: %d %s", r.Status, r.Body)
			}
			if m.list != "" {
				ev, _ := r.JSON(t)["event"].(map[string]any)
				if ev["list"] != m.list {
					t.Errorf("the key's list is %v, want %s", ev["list"], m.list)
				}
			}
			r = admittest.Do(t, "GET", u+"search/?query=Curie&key="+url.QueryEscape(m.out.Key), nil)
			res, _ := r.JSON(t)["results"].([]any)
			wantN := 0
			if m.out.Setup.AllowSearch && m.list != "" {
				wantN = 1
			}
			if len(res) != wantN {
				t.Errorf("search by name: %d results, want %d", len(res), wantN)
			}
		})
	}
}

func mustEvent(t *testing.T, core *admit.Core, slug string) int64 {
	t.Helper()
	org, err := core.Store.OrganizerBySlug(context.Background(), "demoorga")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := core.Store.EventBySlug(context.Background(), org.ID, slug)
	if err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

func TestPretixdroidKeyCommandErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "admit.db")
	file := filepath.Join(dir, "import.json")
	if err := os.WriteFile(file, []byte(pretixdroidCLIFixture), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI(t, "import", file, "--db", db); err != nil {
		t.Fatalf("import: %v: %s", err, errOut)
	}
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no event", nil, "--event is required"},
		{"event without organizer", []string{"--event", "democon"}, "ORGANIZER/EVENT"},
		{"event with too many parts", []string{"--event", "a/b/c"}, "ORGANIZER/EVENT"},
		{"unknown organizer", []string{"--event", "nobody/democon"}, `unknown organizer "nobody"`},
		{"unknown event", []string{"--event", "demoorga/nocon"}, `unknown event "nocon"`},
		{"unknown list", []string{"--event", "demoorga/democon", "--list", "Nope"}, `unknown check-in list "Nope"`},
		{"subevent of an event that is no series", []string{"--event", "demoorga/democon", "--subevent", "Day 1"}, "no subevents"},
		{"a positional argument", []string{"--event", "demoorga/democon", "extra"}, "takes no arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, append([]string{"pretixdroid", "key", "--db", db}, c.args...)...)
			if err == nil || !strings.Contains(stderr, c.wantErr) || stdout != "" {
				t.Errorf("err %v, stderr %q, stdout %q: want an error containing %q", err, stderr, stdout, c.wantErr)
			}
		})
	}
}
