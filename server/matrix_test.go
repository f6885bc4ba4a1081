package server_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/admitdev/admit/api"
	"github.com/admitdev/admit/pretixdroid"
	"github.com/admitdev/admit/tibillet"
	"github.com/admitdev/admit/ticketing"
)

// The authorization matrix: every route of every dialect and of the API
// (read from the doors' route tables), against every kind of credential,
// with the status each must answer. A route without a row fails the test:
// a new route cannot ship unchecked. Adding a row is one line.
//
// The columns, in order:
//
//	none      no credential at all
//	malformed a credential that is not shaped like a key
//	wrong     the right credential's prefix with a wrong secret
//	archived  the organizer's archived device's key
//	f-device  another organizer's paired device's key
//	f-pretix  another organizer's pretixdroid key
//	f-admin   another organizer's management (admin) key
//	f-staff   another organizer's staff key (from an admission token code)
//	f-scanner another organizer's scanner key (admit's API)
//	right     the right one: the organizer's device key (TiBillet), its
//	          pretixdroid key (pretixdroid), its management key (TickeTing
//	          and the API)
//
// Each request carries a minimal body: {} (TickeTing, the API), acme's
// event and ticket (TiBillet), a ticket's secret (pretixdroid); so "right"
// is sometimes a 4xx of the body, never of the credential. Routes that take
// no credential (pairing, a code's login, the API's document) answer alike
// whatever is sent. Routes no event scopes (TiBillet's key checks, the
// lists of events, the API's /me) answer another organizer's key about its
// own organizer: 200 there is no leak.
var matrix = map[string]string{
	// route: none malformed wrong archived f-device f-pretix f-admin f-staff f-scanner right
	"GET /scan/{token}/pair":                                           "400 400 400 400 400 400 400 400 400 400",
	"GET /scan/test_api":                                               "403 403 403 403 200 403 403 403 403 200",
	"GET /scan/check_api_scan":                                         "403 403 403 403 200 403 403 403 403 200",
	"POST /scan/check_ticket":                                          "403 403 403 403 404 403 403 403 403 200",
	"POST /scan/ticket":                                                "403 403 403 403 406 403 403 403 403 200",
	"POST /scan/list_tickets":                                          "403 403 403 403 404 403 403 403 403 200",
	"POST /scan/search_ticket":                                         "403 403 403 403 404 403 403 403 403 200",
	"GET /o/{org}/scan/{token}/pair":                                   "400 400 400 400 400 400 400 400 400 400",
	"GET /o/{org}/scan/test_api":                                       "403 403 403 403 403 403 403 403 403 200",
	"GET /o/{org}/scan/check_api_scan":                                 "403 403 403 403 403 403 403 403 403 200",
	"POST /o/{org}/scan/check_ticket":                                  "403 403 403 403 403 403 403 403 403 200",
	"POST /o/{org}/scan/ticket":                                        "403 403 403 403 403 403 403 403 403 200",
	"POST /o/{org}/scan/list_tickets":                                  "403 403 403 403 403 403 403 403 403 200",
	"POST /o/{org}/scan/search_ticket":                                 "403 403 403 403 403 403 403 403 403 200",
	"GET /o/{org}/api/events":                                          "200 200 200 200 200 200 200 200 200 200",
	"GET /o/{org}/api/events/{uuid}":                                   "200 200 200 200 200 200 200 200 200 200",
	"POST /pretixdroid/api/{organizer}/{event}/redeem/{$}":             "403 403 403 403 403 403 403 403 403 200",
	"GET /pretixdroid/api/{organizer}/{event}/search/{$}":              "403 403 403 403 403 403 403 403 403 200",
	"GET /pretixdroid/api/{organizer}/{event}/status/{$}":              "403 403 403 403 403 403 403 403 403 200",
	"GET /pretixdroid/api/{organizer}/{event}/download/{$}":            "403 403 403 403 403 403 403 403 403 200",
	"POST /pretixdroid/api/{organizer}/{event}/{subevent}/redeem/{$}":  "403 403 403 403 403 403 403 403 403 403",
	"GET /pretixdroid/api/{organizer}/{event}/{subevent}/search/{$}":   "403 403 403 403 403 403 403 403 403 403",
	"GET /pretixdroid/api/{organizer}/{event}/{subevent}/status/{$}":   "403 403 403 403 403 403 403 403 403 403",
	"GET /pretixdroid/api/{organizer}/{event}/{subevent}/download/{$}": "403 403 403 403 403 403 403 403 403 403",
	"GET /v3/events":                                                   "401 403 403 403 403 403 200 403 403 200",
	"GET /v3/events/{event}":                                           "401 403 403 403 403 403 403 403 403 200",
	"GET /v3/events/{event}/sections/{section}":                        "401 403 403 403 403 403 403 403 403 200",
	"POST /v3/events/{event}/tokens":                                   "401 403 403 403 403 403 403 403 403 400",
	"GET /v3/events/{event}/tokens":                                    "401 403 403 403 403 403 403 403 403 200",
	"GET /v3/events/{event}/tokens/{token}":                            "401 403 403 403 403 403 403 403 403 200",
	"PUT /v3/events/{event}/tokens/{token}":                            "401 403 403 403 403 403 403 403 403 400",
	"DELETE /v3/events/{event}/tokens/{token}":                         "401 403 403 403 403 403 403 403 403 204",
	"GET /v3/tokens/{code}":                                            "404 404 404 404 404 404 404 404 404 404",
	"GET /v3/events/{event}/tickets":                                   "401 403 403 403 403 403 403 403 403 200",
	"POST /v3/events/{event}/admissions":                               "401 403 403 403 403 403 403 403 403 400",
	"GET /v3/events/{event}/admissions":                                "401 403 403 403 403 403 403 403 403 200",
	"GET /api/v1/openapi.json":                                         "200 200 200 200 200 200 200 200 200 200",
	"POST /api/v1/pair":                                                "404 404 404 404 404 404 404 404 404 404",
	"GET /api/v1/me":                                                   "401 401 401 403 200 401 200 401 200 200",
	"GET /api/v1/events":                                               "401 401 401 403 200 401 200 401 200 200",
	"GET /api/v1/events/{event}":                                       "401 401 401 403 404 401 404 401 404 200",
	"GET /api/v1/events/{event}/occupancy":                             "401 401 401 403 404 401 404 401 404 200",
	"GET /api/v1/events/{event}/live":                                  "401 401 401 403 404 401 404 401 404 200",
	"POST /api/v1/events/{event}/scans":                                "401 401 401 403 404 401 404 401 404 400",
	"GET /api/v1/events/{event}/scans":                                 "401 401 401 403 404 401 404 401 404 200",
	"POST /api/v1/events/{event}/scans/offline":                        "401 401 401 403 404 401 404 401 404 400",
	"GET /api/v1/events/{event}/scans/{scan}/proof":                    "401 401 401 403 404 401 404 401 404 404",
	"GET /api/v1/events/{event}/offline":                               "401 401 401 403 404 401 404 401 404 200",
	"GET /api/v1/events/{event}/conflicts":                             "401 401 401 403 404 401 404 401 404 200",
	"GET /api/v1/events/{event}/tickets":                               "401 401 401 403 404 401 404 401 404 200",
	"GET /api/v1/events/{event}/tickets/{ticket}":                      "401 401 401 403 404 401 404 401 404 200",
	"POST /api/v1/events/{event}/tickets/{ticket}/checkin":             "401 401 401 403 404 401 404 401 404 200",
	"POST /api/v1/events/{event}/tickets/{ticket}/block":               "401 401 401 403 403 401 404 401 403 200",
	"POST /api/v1/events/{event}/tickets/{ticket}/unblock":             "401 401 401 403 403 401 404 401 403 200",
	"GET /api/v1/events/{event}/devices":                               "401 401 401 403 403 401 404 401 403 200",
	"POST /api/v1/devices":                                             "401 401 401 403 403 401 422 401 403 422",
	"POST /api/v1/devices/{device}/archive":                            "401 401 401 403 403 401 404 401 403 200",
	"POST /api/v1/imports":                                             "401 401 401 403 403 401 422 401 403 422",
	"POST /api/v1/events/{event}/imports/csv":                          "401 401 401 403 403 401 404 401 403 415",
}

// kinds are the matrix's columns.
var kinds = []string{"none", "malformed", "wrong", "archived", "f-device", "f-pretix", "f-admin", "f-staff", "f-scanner", "right"}

// allRoutes reads every route from the doors' route tables.
func allRoutes() []string {
	var out []string
	out = append(out, tibillet.New(nil, tibillet.Options{}).Routes()...)
	out = append(out, pretixdroid.New(nil, pretixdroid.Options{}).Routes()...)
	out = append(out, ticketing.New(nil, ticketing.Options{}).Routes()...)
	out = append(out, api.New(nil, api.Options{}).Routes()...)
	return out
}

func TestAuthorizationMatrix(t *testing.T) {
	routes := allRoutes()
	for _, rt := range routes {
		if _, ok := matrix[rt]; !ok {
			t.Errorf("route %q has no row in the authorization matrix: add one line for it to matrix in server/matrix_test.go", rt)
		}
	}
	for rt, row := range matrix {
		if !slices.Contains(routes, rt) {
			t.Errorf("the matrix has a row for %q, which no door serves: remove it", rt)
		}
		if n := len(strings.Fields(row)); n != len(kinds) {
			t.Errorf("the row of %q has %d cells, want %d (%s)", rt, n, len(kinds), strings.Join(kinds, " "))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	w := newWorld(t)
	// Cells that change things (delete a token, archive a device) come
	// last in their row, with the right credential; rows run in the order
	// of the route tables.
	var got []string // the rows as answered, to show when they differ
	for _, rt := range routes {
		want := strings.Fields(matrix[rt])
		var cells []string
		t.Run(rt, func(t *testing.T) {
			method, path, _ := strings.Cut(rt, " ")
			for i, kind := range kinds {
				r := w.send(t, method, path, kind)
				cells = append(cells, strconv.Itoa(r.status))
				if cells[i] != want[i] {
					t.Errorf("%s: status %s, want %s; body: %.300s", kind, cells[i], want[i], r.body)
				}
				if r.status >= 500 {
					t.Errorf("%s: a server error", kind)
				}
			}
		})
		got = append(got, fmt.Sprintf("%q: %q,", rt, strings.Join(cells, " ")))
	}
	if t.Failed() {
		t.Logf("the rows as answered:\n%s", strings.Join(got, "\n"))
	}
	if lines := w.errors.take(); len(lines) > 0 {
		t.Errorf("ERROR lines logged: %q", lines)
	}
}

// credential returns the credential of a kind for a route family.
func (w *world) credential(family, kind string) string {
	right := map[string]string{"tibillet": w.acme.device, "pretixdroid": w.acme.pretixdroid,
		"ticketing": w.acme.admin, "api": w.acme.admin}[family]
	switch kind {
	case "none":
		return ""
	case "malformed":
		return "not-a-key"
	case "wrong":
		prefix, _, _ := strings.Cut(right, ".")
		return prefix + "." + strings.Repeat("x", 32)
	case "archived":
		return w.acme.archived
	case "f-device":
		return w.globex.device
	case "f-pretix":
		return w.globex.pretixdroid
	case "f-admin":
		return w.globex.admin
	case "f-staff":
		return w.globex.staff
	case "f-scanner":
		return w.globex.scanner
	}
	return right
}

// send makes one matrix cell's request.
func (w *world) send(t *testing.T, method, pattern, kind string) *response {
	t.Helper()
	fam := familyOf(pattern)
	path := w.fill(pattern, method)
	headers := w.auth(fam, &path, w.credential(fam, kind))
	body := ""
	if method == "POST" || method == "PUT" {
		switch fam {
		case "tibillet":
			// The event named in the body: acme's.
			body = fmt.Sprintf(`{"event_uuid": %q, "qrcode_data": %q, "search": "Ada"}`, w.ev.UUID, w.ticket.QRCode)
		case "pretixdroid":
			body = "secret=" + w.ticket.Secret
			headers = append(headers, "Content-Type", "application/x-www-form-urlencoded")
		default:
			body = "{}"
		}
	}
	return w.do(t, w.client(), method, path, body, headers...)
}

// fill makes a request path of a route pattern: acme's event, its first
// section, its issued token (the spare one for DELETE), its ticket, the
// spare device; an unknown pairing token and code.
func (w *world) fill(pattern, method string) string {
	fam := familyOf(pattern)
	path := strings.TrimSuffix(pattern, "{$}")
	event := map[string]string{"tibillet": w.ev.UUID, "pretixdroid": "fest", "ticketing": strconv.FormatInt(w.ev.ID, 10),
		"api": w.ev.UUID}[fam]
	token := strconv.FormatInt(w.tokenID, 10)
	if method == "DELETE" {
		token = strconv.FormatInt(w.spareToken, 10)
	}
	if fam == "tibillet" && strings.Contains(pattern, "{token}") {
		token = "unknown-pairing-token"
	}
	return strings.NewReplacer("{organizer}", "acme", "{org}", "acme", "{event}", event, "{subevent}", "1",
		"{section}", strconv.FormatInt(w.sections[0].ID, 10), "{token}", token, "{code}", "ZZZZ0000",
		"{ticket}", w.ticket.UUID, "{device}", w.spareDev, "{uuid}", w.ev.UUID).Replace(path)
}

// auth returns the headers that carry cred in a family (pretixdroid's goes
// in the query of *path).
func (w *world) auth(fam string, path *string, cred string) []string {
	var headers []string
	switch fam {
	case "tibillet":
		if cred != "" {
			headers = append(headers, "Authorization", "Api-Key "+cred)
		}
	case "pretixdroid":
		if cred != "" {
			*path += "?key=" + cred
		}
	case "ticketing":
		headers = append(headers, "X-Client-Version", "3.0.0")
		if cred != "" {
			headers = append(headers, "X-API-Key", cred)
		}
	case "api":
		if cred != "" {
			headers = append(headers, "Authorization", "Bearer "+cred)
		}
	}
	return headers
}

func familyOf(path string) string {
	for prefix, fam := range map[string]string{"/scan/": "tibillet", "/o/": "tibillet", "/pretixdroid/": "pretixdroid", "/v3/": "ticketing", "/api/": "api"} {
		if strings.HasPrefix(path, prefix) {
			return fam
		}
	}
	panic(fmt.Sprintf("no family for %s", path))
}
