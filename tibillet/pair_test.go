package tibillet_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

func newToken(t *testing.T, f *fixture, name string) (*admit.Device, string) {
	t.Helper()
	d, token, err := f.env.Core.CreateDevice(context.Background(), admit.DeviceSpec{Organizer: "demoorga", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return d, token
}

func changeLast(s string) string {
	if s[len(s)-1] == 'A' {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}

func TestPairingAnswersTheKeyOnceAndTheKeyWorks(t *testing.T) {
	t.Parallel()
	f := start(t)
	for _, path := range []string{"/scan/%s/pair", "/scan/%s/pair/"} {
		t.Run(path, func(t *testing.T) {
			d, token := newToken(t, f, "Entrance Scanner")
			r := f.call(t, "GET", fmt.Sprintf(path, token), "", nil)
			want(t, r, http.StatusOK)
			m := r.JSON(t)
			if got := keys(m); got != "api_key,device_name,device_uuid,message,success,tenant_name" {
				t.Fatalf("fields %s", got)
			}
			if m["success"] != true || m["message"] != "Device successfully paired" || m["tenant_name"] != tenantName ||
				m["device_uuid"] != d.UUID || m["device_name"] != "Entrance Scanner" {
				t.Fatalf("pairing answer %s", r.Body)
			}
			key, _ := m["api_key"].(string)
			if !regexp.MustCompile(`^[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}$`).MatchString(key) {
				t.Fatalf("api_key %q is not <8>.<32>", key)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q: a key must not be cached", cc)
			}
			// The key works at once.
			r = f.call(t, "GET", "/scan/check_api_scan/", key, nil)
			want(t, r, http.StatusOK)
			if r.JSON(t)["scan_app"] != "Entrance Scanner" {
				t.Fatalf("check_api_scan %s", r.Body)
			}
			// Single use: the same token again is refused, whatever the slash.
			for _, again := range []string{"/scan/" + token + "/pair", "/scan/" + token + "/pair/"} {
				r = f.call(t, "GET", again, "", nil)
				want(t, r, http.StatusBadRequest)
				if e, _ := r.JSON(t)["error"].(string); e == "" {
					t.Fatalf("second pairing without an error text: %s", r.Body)
				}
			}
		})
	}
}

func TestPairingRefusesBadTokens(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()

	// A token that expired: made with a TTL already past.
	f.env.Core.PairingTTL = -time.Minute
	_, expired, err := f.env.Core.CreateDevice(ctx, admit.DeviceSpec{Organizer: "demoorga", Name: "Late"})
	f.env.Core.PairingTTL = 24 * time.Hour
	if err != nil {
		t.Fatal(err)
	}
	// The token of a device archived before pairing.
	archived, archivedToken := newToken(t, f, "Archived")
	f.archive(t, archived)
	// A live token, to show that the refusals are about the token.
	_, live := newToken(t, f, "Live")

	cases := []struct {
		name, token string
	}{
		{"expired", expired},
		{"unknown", "NotARealTokenNotARealTokenNotARe"},
		{"device archived", archivedToken},
		{"token with one character changed", changeLast(live)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.call(t, "GET", "/scan/"+c.token+"/pair/", "", nil)
			wantError(t, r, http.StatusBadRequest, "Invalid or expired pairing token")
		})
	}
	r := f.call(t, "GET", "/scan/"+live+"/pair", "", nil)
	want(t, r, http.StatusOK)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, key := f.device(t, "Door", "", "")
	archivedDev, archivedKey := f.device(t, "Old phone", "", "")
	f.archive(t, archivedDev)

	// A key of the right shape that was never issued.
	forged := key[:9] + "abcdefghijklmnopqrstuvwxyz012345"
	routes := []struct{ method, path string }{
		{"GET", "/scan/test_api/"},
		{"GET", "/scan/check_api_scan/"},
		{"POST", "/scan/check_ticket/"},
		{"POST", "/scan/ticket/"},
		{"POST", "/scan/list_tickets/"},
		{"POST", "/scan/search_ticket/"},
	}
	const noApp = "No app associated with this key."
	cases := []struct {
		name, header string
		detail       string
	}{
		{"no Authorization header", "", noApp},
		{"another keyword", "Bearer " + key, noApp},
		{"keyword without a key", "Api-Key", noApp},
		{"a key never issued", "Api-Key " + forged, noApp},
		{"a key of another shape", "Api-Key not-a-key", noApp},
		{"the key of an archived device", "Api-Key " + archivedKey, "App is archived."},
	}
	for _, c := range cases {
		for _, rt := range routes {
			t.Run(c.name+" "+rt.path, func(t *testing.T) {
				var h []string
				if c.header != "" {
					h = []string{"Authorization", c.header}
				}
				var body any
				if rt.method == "POST" {
					body = map[string]any{"qrcode_data": f.qr[uJohn], "event_uuid": f.ev.UUID, "search": "Doe"}
				}
				r := f.env.Do(t, rt.method, rt.path, body, h...)
				want(t, r, http.StatusForbidden)
				m := r.JSON(t)
				if m["detail"] != c.detail || m["error"] != c.detail {
					t.Fatalf("answer %s, want detail and error %q", r.Body, c.detail)
				}
			})
		}
	}
	// The keyword is compared case-insensitively.
	for _, kw := range []string{"Api-Key", "api-key", "API-KEY"} {
		r := f.env.Do(t, "GET", "/scan/check_api_scan/", nil, "Authorization", kw+" "+key)
		want(t, r, http.StatusOK)
	}
	// Nothing was scanned by the refused requests.
	r := f.check(t, key, f.qr[uJohn])
	want(t, r, http.StatusOK)
	if obj(t, r.JSON(t), "ticket")["is_scanned"] != false {
		t.Fatalf("a refused request scanned the ticket: %s", r.Body)
	}
}

func TestArchivedDeviceIsRefusedFromItsNextRequest(t *testing.T) {
	t.Parallel()
	f := start(t)
	forged := f.qr[uJohn][:len(f.qr[uJohn])-6] + "AAAAA="
	for _, c := range []struct{ name, path, qr string }{
		{"a genuine code", "/scan/ticket/", f.qr[uJohn]},
		{"a genuine code, checked", "/scan/check_ticket/", f.qr[uJohn]},
		{"a forged code", "/scan/ticket/", forged},
		{"no code at all", "/scan/ticket/", "not a code"},
	} {
		d, key := f.device(t, "Door", "", "")
		want(t, f.call(t, "GET", "/scan/test_api/", key, nil), http.StatusOK)
		// A check first: the server has the device in its cache when it is archived.
		want(t, f.check(t, key, f.qr[uJane]), http.StatusOK)
		f.archive(t, d)
		r := f.call(t, "POST", c.path, key, map[string]any{"qrcode_data": c.qr})
		want(t, r, http.StatusForbidden)
		if r.JSON(t)["detail"] != "App is archived." {
			t.Fatalf("archived, %s: %s", c.name, r.Body)
		}
	}
	// Refused before anything was decided: John is still not scanned.
	_, key2 := f.device(t, "Door 2", "", "")
	r := f.scan(t, key2, f.qr[uJohn], "")
	want(t, r, http.StatusOK)
	if r.JSON(t)["message"] != "Ticket successfully scanned" {
		t.Fatalf("scan after a refused one: %s", r.Body)
	}
}

var pythonTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$`)

func TestTestAPIAndCheckAPIScan(t *testing.T) {
	t.Parallel()
	f := start(t)
	d, key := f.device(t, "Entrance Scanner", "", "")
	for _, path := range []string{"/scan/test_api/", "/scan/test_api"} {
		t.Run(path, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			r := f.call(t, "GET", path, key, nil)
			want(t, r, http.StatusOK)
			m := r.JSON(t)
			if got := keys(m); got != "device_info,message,server_info,success" {
				t.Fatalf("fields %s", got)
			}
			if m["success"] != true || m["message"] != "API key is valid" {
				t.Fatalf("answer %s", r.Body)
			}
			di := obj(t, m, "device_info")
			if keys(di) != "archived,claimed,name,uuid" || di["uuid"] != d.UUID || di["name"] != "Entrance Scanner" ||
				di["claimed"] != true || di["archived"] != false {
				t.Fatalf("device_info %v", di)
			}
			si := obj(t, m, "server_info")
			if keys(si) != "domain,tenant,timestamp" || si["tenant"] != tenantName || si["domain"] != tenantHost {
				t.Fatalf("server_info %v", si)
			}
			ts, _ := si["timestamp"].(string)
			if !pythonTimestamp.MatchString(ts) {
				t.Fatalf("timestamp %q is not like 2023-06-15T14:30:45.123456+00:00", ts)
			}
			at, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
				t.Fatalf("timestamp %q is not now (%v)", ts, err)
			}
		})
	}
	for _, path := range []string{"/scan/check_api_scan/", "/scan/check_api_scan"} {
		r := f.call(t, "GET", path, key, nil)
		want(t, r, http.StatusOK)
		if m := r.JSON(t); keys(m) != "scan_app" || m["scan_app"] != "Entrance Scanner" {
			t.Fatalf("%s: %s", path, r.Body)
		}
	}
}

func TestRoutesAnswerJSONForWrongMethodsUnknownPathsAndPreflights(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, key := f.device(t, "Door", "", "")
	cases := []struct {
		name, method, path string
		status             int
	}{
		{"GET on a POST route", "GET", "/scan/ticket/", http.StatusMethodNotAllowed},
		{"POST on a GET route", "POST", "/scan/test_api/", http.StatusMethodNotAllowed},
		{"DELETE on pairing", "DELETE", "/scan/sometoken/pair/", http.StatusMethodNotAllowed},
		{"an unknown path", "GET", "/scan/nothing_here/", http.StatusNotFound},
		{"an unknown path under a route", "POST", "/scan/ticket/extra", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.call(t, c.method, c.path, key, nil)
			want(t, r, c.status)
			if e, _ := r.JSON(t)["error"].(string); e == "" {
				t.Fatalf("no error text: %s", r.Body)
			}
		})
	}
	// A web view's CORS preflight, and the header on answers.
	r := f.env.Do(t, "OPTIONS", "/scan/ticket/", nil, "Origin", "https://localhost",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	want(t, r, http.StatusNoContent)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!regexp.MustCompile(`POST`).MatchString(r.Header.Get("Access-Control-Allow-Methods")) ||
		!regexp.MustCompile(`(?i)authorization`).MatchString(r.Header.Get("Access-Control-Allow-Headers")) {
		t.Fatalf("preflight headers %v", r.Header)
	}
	r = f.call(t, "GET", "/scan/check_api_scan/", key, nil)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("answer without Access-Control-Allow-Origin: %v", r.Header)
	}
}
