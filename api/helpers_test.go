package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/api"
)

// The OpenAPI document, loaded and checked once; every request and answer
// of these tests is validated against it.
var (
	docOnce   sync.Once
	docRouter routers.Router
	docErr    error
)

func router(t testing.TB) routers.Router {
	t.Helper()
	docOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.Document)
		if err != nil {
			docErr = err
			return
		}
		if docErr = doc.Validate(context.Background()); docErr != nil {
			return
		}
		docRouter, docErr = gorillamux.NewRouter(doc)
	})
	if docErr != nil {
		t.Fatalf("the OpenAPI document: %v", docErr)
	}
	return docRouter
}

const eventJSON = `{
 "organizer": {"slug": "acme", "name": "Acme"},
 "event": {"slug": "fest", "name": "Fest", "date_from": "2026-12-27T17:00:00Z", "date_to": "2026-12-30T18:00:00Z", "timezone": "Europe/Paris"},
 "sections": [{"name": "Floor"}, {"name": "Balcony"}],
 "products": [{"name": "Ticket"}, {"name": "VIP"}],
 "lists": [{"name": "Main", "default": true},
           {"name": "VIP lounge", "products": ["VIP"], "allow_entry_after_exit": false}],
 "orders": [
  {"code": "A1", "status": "paid", "email": "ann@example.org", "tickets": [
    {"product": "Ticket", "first_name": "Ann", "last_name": "Archer", "section": "Floor"},
    {"product": "VIP", "first_name": "Vic", "last_name": "Valdez", "section": "Balcony"}]},
  {"code": "B2", "status": "canceled", "tickets": [{"product": "Ticket", "first_name": "Bob", "last_name": "Baker", "section": "Floor"}]},
  {"code": "C3", "status": "pending", "tickets": [{"product": "Ticket", "first_name": "Cid", "last_name": "Cole"}]},
  {"code": "D4", "status": "paid", "tickets": [{"product": "Ticket", "first_name": "Dee", "last_name": "Dunn", "section": "Floor"},
    {"product": "Ticket", "first_name": "Eve", "last_name": "Ellis", "section": "Floor", "valid_until": "2020-01-01T00:00:00Z"}]}
 ]}`

// Ticket indexes in eventJSON's import result.
const (
	tAnn = iota
	tVic
	tBob
	tCid
	tDee
	tEve
)

type fixture struct {
	env    *admittest.Env
	res    *admit.ImportResult
	event  string // uuid
	admin  string // an admin key of acme
	t      testing.TB
	strict bool // validate requests too (off for deliberately bad ones)
}

func setup(t *testing.T) *fixture {
	t.Helper()
	env := admittest.Start(t)
	res := env.Import(t, eventJSON)
	key, err := env.Core.CreateOrganizerKey(context.Background(), "acme", "Box office", admit.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, res: res, event: res.Event.UUID, admin: key, t: t}
}

// answer is an API answer, read whole.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a *answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, a.Body)
	}
	return m
}

// problem checks a problem answer and returns its detail.
func (a *answer) problem(t testing.TB, status int) string {
	t.Helper()
	if a.Status != status {
		t.Fatalf("status %d, want %d: %s", a.Status, status, a.Body)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, a.Body)
	}
	m := a.json(t)
	if int(m["status"].(float64)) != status || m["title"] == "" || m["type"] == "" || m["detail"] == "" {
		t.Fatalf("not a complete problem: %s", a.Body)
	}
	return m["detail"].(string)
}

// call sends a request with the key (if any) and validates the request
// (for valid requests) and the answer against the OpenAPI document.
func (f *fixture) call(t testing.TB, key, method, path string, body any, headers ...string) *answer {
	t.Helper()
	return f.send(t, key, method, path, body, true, headers...)
}

// callBad sends a request that is deliberately invalid: only the answer
// is validated.
func (f *fixture) callBad(t testing.TB, key, method, path string, body any, headers ...string) *answer {
	t.Helper()
	return f.send(t, key, method, path, body, false, headers...)
}

func (f *fixture) send(t testing.TB, key, method, path string, body any, validReq bool, headers ...string) *answer {
	t.Helper()
	var raw []byte
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		raw, ctype = []byte(b), "application/json"
	case []byte:
		raw, ctype = b, "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		raw, ctype = j, "application/json"
	}
	req, err := http.NewRequest(method, f.env.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		req.Body = http.NoBody
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// Find the route in the document: every call of the tests must be one.
	rt, params, ferr := router(t).FindRoute(req)
	var input *openapi3filter.RequestValidationInput
	if ferr == nil {
		input = &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: rt,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if validReq {
			if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
				t.Fatalf("%s %s: the request does not validate against the OpenAPI document: %v", method, path, err)
			}
			req.Body = io.NopCloser(bytes.NewReader(raw))
		}
	} else if validReq {
		t.Fatalf("%s %s: not a route of the OpenAPI document: %v", method, path, ferr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := &answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if input != nil {
		input.Options.IncludeResponseStatus = true
		rv := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(b)), Options: input.Options}
		if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
			t.Fatalf("%s %s: the answer (%d) does not validate against the OpenAPI document: %v\n%s", method, path, resp.StatusCode, err, b)
		}
	}
	return a
}

func (f *fixture) qr(i int) string { return f.res.Tickets[i].QRCode }

func contains(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
