package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/api"
)

// FuzzRequests sends any body, query and content type to every route of
// the API (but the live stream, which does not end) with a management key:
// never a 5xx. Seeds in testdata/fuzz/FuzzRequests are clients' requests.
func FuzzRequests(f *testing.F) {
	var routes []string
	for _, rt := range api.New(nil, api.Options{}).Routes() {
		if !strings.HasSuffix(rt, "/live") {
			routes = append(routes, rt)
		}
	}
	admittest.FuzzRoutes(f, routes,
		func(w *admittest.World, pattern string) string { return w.Fill(pattern, w.Event.UUID) },
		func(w *admittest.World, r *http.Request) { r.Header.Set("Authorization", "Bearer "+w.Admin) })
}
