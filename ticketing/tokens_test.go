package ticketing_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	msgRequired = "The following arguments are required, but have not been supplied: sections."
	msgGlobal   = "The global admission token cannot be modified or invalidated."
)

func uris(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// Issuing, listing, reading, changing and deleting tokens; the global
// token's rules.
func TestTokens(t *testing.T) {
	f := start(t)
	all := []string{sectionURI(f, "Floor"), sectionURI(f, "Balcony"), sectionURI(f, "VIP")}

	tok := f.issue(t, "VIP", "Floor")
	self, _ := tok["self"].(string)
	if !strings.HasPrefix(self, fmt.Sprintf("/events/%d/tokens/", f.ev.ID)) || tok["global"] != false {
		t.Fatalf("issued token %v", tok)
	}
	if code, _ := tok["code"].(string); !reCode.MatchString(code) {
		t.Errorf("code %q is not 8 characters of [0-9A-Z]", code)
	}
	if got := uris(tok["sections"]); len(got) != 2 || !slices.Contains(got, sectionURI(f, "VIP")) || !slices.Contains(got, sectionURI(f, "Floor")) {
		t.Errorf("sections %v", got)
	}
	tok2 := f.issue(t, "Balcony")
	if tok2["code"] == tok["code"] {
		t.Error("two tokens with one code")
	}

	t.Run("the list has the global token first, then the others in issue order", func(t *testing.T) {
		es := entries(t, f.do(t, "GET", f.evPath("/tokens"), f.key, nil))
		if len(es) != 3 || es[0]["global"] != true || es[1]["self"] != self || es[2]["self"] != tok2["self"] {
			t.Fatalf("tokens %v", es)
		}
		if got := uris(es[0]["sections"]); !slices.Equal(got, all) {
			t.Errorf("the global token covers %v, want every section %v", got, all)
		}
	})
	t.Run("global=true is the global token only", func(t *testing.T) {
		es := entries(t, f.do(t, "GET", f.evPath("/tokens?global=true"), f.key, nil))
		if len(es) != 1 || es[0]["global"] != true {
			t.Fatalf("tokens %v", es)
		}
	})
	t.Run("global=false is the issued tokens", func(t *testing.T) {
		es := entries(t, f.do(t, "GET", f.evPath("/tokens?global=false"), f.key, nil))
		if len(es) != 2 || es[0]["self"] != self || es[1]["self"] != tok2["self"] {
			t.Fatalf("tokens %v", es)
		}
	})
	t.Run("a token reads back as issued, its code hidden: a code is shown once", func(t *testing.T) {
		r := f.do(t, "GET", "/v3"+self, f.key, nil)
		want(t, r, 200)
		if got := r.JSON(t); got["code"] != "********" || got["self"] != self || got["global"] != false {
			t.Fatalf("token %v", got)
		}
		for _, e := range entries(t, f.do(t, "GET", f.evPath("/tokens"), f.key, nil)) {
			if e["code"] != "********" {
				t.Fatalf("a listing shows a code: %v", e)
			}
		}
	})
	t.Run("PUT replaces the sections", func(t *testing.T) {
		r := f.do(t, "PUT", "/v3"+self, f.key, map[string]any{"sections": []string{sectionURI(f, "Balcony")}})
		want(t, r, 200)
		if got := uris(r.JSON(t)["sections"]); !slices.Equal(got, []string{sectionURI(f, "Balcony")}) {
			t.Fatalf("sections after PUT %v", got)
		}
		r = f.do(t, "GET", "/v3"+self, f.key, nil)
		if got := uris(r.JSON(t)["sections"]); !slices.Equal(got, []string{sectionURI(f, "Balcony")}) {
			t.Fatalf("sections read after PUT %v", got)
		}
	})

	globalPath := fmt.Sprintf("/v3/events/%d/tokens/%d", f.ev.ID, globalTokenID(t, f))
	other := fmt.Sprintf("/events/%d/sections/999999", f.ev.ID)
	otherEvent := func() string {
		r := f.do(t, "GET", fmt.Sprintf("/v3/events/%d", f.other.ID), f.key, nil)
		s := r.JSON(t)["sections"].([]any)[0].(map[string]any)["self"].(string)
		return fmt.Sprintf("/events/%d%s", f.other.ID, s)
	}()
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		text   string
	}{
		{"POST without sections", "POST", f.evPath("/tokens"), map[string]any{}, 400, msgRequired},
		{"POST with an empty body", "POST", f.evPath("/tokens"), "", 400, msgRequired},
		{"POST with null sections", "POST", f.evPath("/tokens"), map[string]any{"sections": nil}, 400, msgRequired},
		{"POST with no section", "POST", f.evPath("/tokens"), map[string]any{"sections": []string{}}, 400, msgRequired},
		{"PUT with no section", "PUT", "/v3" + self, map[string]any{"sections": []string{}}, 400, msgRequired},
		{"PUT without sections", "PUT", "/v3" + self, map[string]any{}, 400, msgRequired},
		{"POST with an unknown section", "POST", f.evPath("/tokens"), map[string]any{"sections": []string{other}}, 400, ""},
		{"POST with a section of another event", "POST", f.evPath("/tokens"), map[string]any{"sections": []string{otherEvent}}, 400, ""},
		{"POST with something that is no section", "POST", f.evPath("/tokens"), map[string]any{"sections": []string{"/venues/1"}}, 400, ""},
		{"POST with sections of the wrong type", "POST", f.evPath("/tokens"), map[string]any{"sections": "Floor"}, 400, ""},
		{"POST with malformed JSON", "POST", f.evPath("/tokens"), `{"sections": [`, 400, ""},
		{"PUT on the global token", "PUT", globalPath, map[string]any{"sections": []string{sectionURI(f, "Floor")}}, 409, msgGlobal},
		{"DELETE of the global token", "DELETE", globalPath, nil, 409, msgGlobal},
		{"PUT on an unknown token", "PUT", f.evPath("/tokens/999999"), map[string]any{"sections": []string{sectionURI(f, "Floor")}}, 404, "There is presently no resource with the given URI."},
		{"DELETE of an unknown token", "DELETE", f.evPath("/tokens/999999"), nil, 404, "There is presently no resource with the given URI."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, c.method, c.path, f.key, c.body)
			want(t, r, c.status)
			text, _ := r.JSON(t)["error"].(string)
			if c.text != "" && text != c.text || text == "" {
				t.Fatalf("error %q, want %q", text, c.text)
			}
		})
	}
	t.Run("nothing was issued by the refused requests", func(t *testing.T) {
		if es := entries(t, f.do(t, "GET", f.evPath("/tokens"), f.key, nil)); len(es) != 3 {
			t.Fatalf("%d tokens, want 3", len(es))
		}
	})
	t.Run("DELETE invalidates a token", func(t *testing.T) {
		want(t, f.do(t, "DELETE", "/v3"+tok2["self"].(string), f.key, nil), 204)
		wantError(t, f.do(t, "GET", "/v3"+tok2["self"].(string), f.key, nil), 404, "There is presently no resource with the given URI.")
		wantError(t, f.do(t, "GET", "/v3/tokens/"+tok2["code"].(string), "", nil), 404, "The provided code does not belong to any event token")
	})
	t.Run("another organizer's key cannot see the tokens", func(t *testing.T) {
		key, err := f.env.Core.CreateManagementKey(t.Context(), "globex", "other")
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, f.do(t, "GET", f.evPath("/tokens"), key, nil), 403, "You are not authorised to access this unlisted event.")
		wantError(t, f.do(t, "POST", f.evPath("/tokens"), key, map[string]any{"sections": all}), 403, "You are not authorised to access this unlisted event.")
	})
}

// Every event has exactly one global token, however many requests race to
// make it.
func TestGlobalTokenIsMadeOnce(t *testing.T) {
	f := start(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var shown []string // the global token's code, in the one answer that shows it
	for range 8 {
		wg.Go(func() {
			r := f.do(t, "GET", f.evPath("/tokens"), f.key, nil)
			if r.Status != 200 {
				t.Errorf("status %d: %s", r.Status, r.Body)
				return
			}
			for _, e := range entries(t, r) {
				if c := e["code"].(string); e["global"] == true && c != "********" {
					mu.Lock()
					shown = append(shown, c)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	es := entries(t, f.do(t, "GET", f.evPath("/tokens?global=true"), f.key, nil))
	if len(es) != 1 || es[0]["code"] != "********" {
		t.Fatalf("global tokens %v", es)
	}
	if len(shown) != 1 || !reCode.MatchString(shown[0]) {
		t.Fatalf("the global token's code was shown %d times: %v", len(shown), shown)
	}
	// Its code logs staff in for every section.
	r := f.do(t, "GET", "/v3/tokens/"+shown[0], "", nil)
	want(t, r, 200)
	if got := uris(r.JSON(t)["sections"]); len(got) != 3 {
		t.Fatalf("global login sections %v", got)
	}
}

// Staff log in with a token's code and get a key limited to listing
// tickets, admitting and listing admissions, for the token's sections.
func TestStaffLogin(t *testing.T) {
	f := start(t)
	tok := f.issue(t, "Floor")
	code := tok["code"].(string)

	t.Run("the code answers a key, the event and the sections without an X-API-Key", func(t *testing.T) {
		r := f.do(t, "GET", "/v3/tokens/"+code, "", nil)
		want(t, r, 200)
		m := r.JSON(t)
		if k, _ := m["key"].(string); k == "" || m["event"] != fmt.Sprintf("/events/%d", f.ev.ID) {
			t.Fatalf("login %v", m)
		}
		if got := uris(m["sections"]); !slices.Equal(got, []string{sectionURI(f, "Floor")}) {
			t.Fatalf("sections %v", got)
		}
	})
	t.Run("a code typed in lower case works", func(t *testing.T) {
		want(t, f.do(t, "GET", "/v3/tokens/"+strings.ToLower(code), "", nil), 200)
	})
	t.Run("an X-API-Key sent along is ignored", func(t *testing.T) {
		want(t, f.do(t, "GET", "/v3/tokens/"+code, "AbCdEfGh.0123456789abcdef0123456789abcdef", nil), 200)
	})
	t.Run("the client version is still required", func(t *testing.T) {
		r := f.env.Do(t, "GET", "/v3/tokens/"+code, nil)
		wantError(t, r, 412, "Please upgrade your client to complete this request")
	})
	t.Run("an unknown code", func(t *testing.T) {
		wantError(t, f.do(t, "GET", "/v3/tokens/ZZZZZZZZ", "", nil), 404, "The provided code does not belong to any event token")
	})

	staff := f.login(t, code)
	restricted := "You are restricted from accessing this resource."
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"may list tickets", "GET", f.evPath("/tickets"), nil, 200},
		{"may list admissions", "GET", f.evPath("/admissions"), nil, 200},
		{"may not read the event", "GET", f.evPath(""), nil, 403},
		{"may not list events", "GET", "/v3/events", nil, 403},
		{"may not list tokens", "GET", f.evPath("/tokens"), nil, 403},
		{"may not issue tokens", "POST", f.evPath("/tokens"), map[string]any{"sections": []string{sectionURI(f, "VIP")}}, 403},
		{"may not change its own token", "PUT", "/v3" + tok["self"].(string), map[string]any{"sections": []string{sectionURI(f, "VIP")}}, 403},
		{"may not delete its own token", "DELETE", "/v3" + tok["self"].(string), nil, 403},
		{"may not list another event's tickets", "GET", fmt.Sprintf("/v3/events/%d/tickets", f.other.ID), nil, 403},
		{"may not admit at another event", "POST", fmt.Sprintf("/v3/events/%d/admissions", f.other.ID),
			map[string]any{"serials": []string{"WINTER-ADA000000001"}}, 403},
	}
	for _, c := range cases {
		t.Run("a staff key "+c.name, func(t *testing.T) {
			r := f.do(t, c.method, c.path, staff, c.body)
			if c.status == 403 {
				wantError(t, r, 403, restricted)
				return
			}
			want(t, r, c.status)
		})
	}
	t.Run("a staff key lists only its sections' tickets", func(t *testing.T) {
		es := entries(t, f.do(t, "GET", f.evPath("/tickets"), staff, nil))
		got := serialsOf(es, "serial")
		slices.Sort(got)
		if w := []string{serCanceled, serAda, serPending}; !slices.Equal(got, w) {
			t.Fatalf("tickets %v, want the Floor ones %v", got, w)
		}
	})
	t.Run("a token for one section cannot admit a ticket of another", func(t *testing.T) {
		wantError(t, f.admitSerials(t, staff, serCharles), 400, "None of the provided ticket serials grants admission to this event")
		recs := array(t, f.admitSerials(t, staff, serCharles, serAda))
		if got := serialsOf(recs, "ticket"); !slices.Equal(got, []string{serAda}) {
			t.Fatalf("admitted %v, want only %s", got, serAda)
		}
	})
	t.Run("a change of the token's sections applies to its key at once", func(t *testing.T) {
		want(t, f.do(t, "PUT", "/v3"+tok["self"].(string), f.key, map[string]any{"sections": []string{sectionURI(f, "Balcony")}}), 200)
		recs := array(t, f.admitSerials(t, staff, serCharles))
		if got := serialsOf(recs, "ticket"); !slices.Equal(got, []string{serCharles}) {
			t.Fatalf("admitted %v", got)
		}
		es := entries(t, f.do(t, "GET", f.evPath("/tickets"), staff, nil))
		if got := serialsOf(es, "serial"); !slices.Equal(got, []string{serCharles}) {
			t.Fatalf("tickets %v after the change", got)
		}
	})
	t.Run("deleting the token revokes its keys at once", func(t *testing.T) {
		other := f.login(t, code) // a second staff member on the same token
		want(t, f.do(t, "DELETE", "/v3"+tok["self"].(string), f.key, nil), 204)
		for _, k := range []string{staff, other} {
			wantError(t, f.do(t, "GET", f.evPath("/tickets"), k, nil), 403, restricted)
			wantError(t, f.admitSerials(t, k, "PENDIN-000000000001"), 403, restricted)
		}
	})
}

// Guessing codes is limited: after 20 unknown codes within a minute from
// one address, 429 until the minute has passed, known codes included.
func TestCodeGuessingLimit(t *testing.T) {
	f := start(t)
	code := f.issue(t, "VIP")["code"].(string)
	// Logging in with a known code does not count toward the limit.
	for range 5 {
		want(t, f.do(t, "GET", "/v3/tokens/"+code, "", nil), 200)
	}
	for i := range 20 {
		r := f.do(t, "GET", fmt.Sprintf("/v3/tokens/GUESS%03d", i), "", nil)
		wantError(t, r, 404, "The provided code does not belong to any event token")
	}
	r := f.do(t, "GET", "/v3/tokens/GUESS999", "", nil)
	want(t, r, 429)
	if r.JSON(t)["error"] == "" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without an error text or Retry-After: %v %s", r.Header, r.Body)
	}
	// A right guess is refused too, or the limit would still tell it.
	want(t, f.do(t, "GET", "/v3/tokens/"+code, "", nil), 429)
	// Once the minute has passed, codes are answered again.
	f.clock.Add(time.Minute)
	want(t, f.do(t, "GET", "/v3/tokens/"+code, "", nil), 200)
	wantError(t, f.do(t, "GET", "/v3/tokens/GUESS998", "", nil), 404, "The provided code does not belong to any event token")
}
