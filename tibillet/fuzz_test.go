package tibillet_test

import (
	"net/http"
	"testing"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/tibillet"
)

// FuzzRequests sends any body (JSON, form, multipart or anything), query
// and content type to every TiBillet route with a paired device's key:
// never a 5xx. Seeds in testdata/fuzz/FuzzRequests are the app's requests.
func FuzzRequests(f *testing.F) {
	routes := tibillet.New(nil, tibillet.Options{}).Routes()
	admittest.FuzzRoutes(f, routes,
		func(w *admittest.World, pattern string) string { return w.Fill(pattern, w.Event.UUID) + "/" },
		func(w *admittest.World, r *http.Request) { r.Header.Set("Authorization", "Api-Key "+w.Device) })
}
