package ticketing_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/ticketing"
)

// FuzzRequests sends any body, query and content type to every TickeTing
// route with a staff key (and the management key on every other input):
// never a 5xx. Seeds in testdata/fuzz/FuzzRequests are the SDK's requests.
func FuzzRequests(f *testing.F) {
	routes := ticketing.New(nil, ticketing.Options{}).Routes()
	admittest.FuzzRoutes(f, routes,
		func(w *admittest.World, pattern string) string {
			return w.Fill(pattern, strconv.FormatInt(w.Event.ID, 10))
		},
		func(w *admittest.World, r *http.Request) {
			r.Header.Set("X-Client-Version", "3.0.0")
			key := w.Admin
			if len(r.URL.RawQuery)%2 == 1 {
				key = w.Staff
			}
			r.Header.Set("X-API-Key", key)
		})
}
