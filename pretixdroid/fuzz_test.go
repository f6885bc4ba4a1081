package pretixdroid_test

import (
	"net/http"
	"testing"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/pretixdroid"
)

// FuzzRequests sends any form body, query and content type to every
// pretixdroid route with the event's key: never a 5xx. Seeds in
// testdata/fuzz/FuzzRequests are the app's requests.
func FuzzRequests(f *testing.F) {
	routes := pretixdroid.New(nil, pretixdroid.Options{}).Routes()
	admittest.FuzzRoutes(f, routes,
		func(w *admittest.World, pattern string) string { return w.Fill(pattern, "fest") },
		func(w *admittest.World, r *http.Request) {
			q := r.URL.Query()
			q.Set("key", w.Pretixdroid)
			r.URL.RawQuery = q.Encode()
		})
}
