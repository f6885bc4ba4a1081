// Package web serves admit's pages: the organizer's dashboard (/) and the
// browser scanner (/scanner). Pages are rendered on the server from
// html/template and enhanced by small ES modules that call admit's own API
// (/api/v1) with the session cookie and its CSRF token, or, on the scanner,
// with a paired device's key. Templates and static files are embedded:
// nothing is built or fetched at run time.
package web

import (
	"embed"
	"log/slog"
	"net/http"
	"strings"

	"github.com/admitdev/admit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configures the pages.
type Options struct {
	Logger *slog.Logger
	// PublicURL is the base URL browsers reach the server at; an https one
	// makes the cookies Secure.
	PublicURL string
}

// Handler serves the pages.
type Handler struct {
	core   *admit.Core
	log    *slog.Logger
	secure bool // cookies are Secure (https public URL)
	tpl    *templates
	static *staticFiles
	// scannerSW is the scanner's service worker script (see sw.go).
	scannerSW []byte
	cop       *http.CrossOriginProtection
}

// New parses the templates and indexes the static files; it panics if an
// embedded template does not parse (a build defect, caught by any test).
func New(core *admit.Core, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{
		core:   core,
		log:    opts.Logger,
		secure: strings.HasPrefix(opts.PublicURL, "https://"),
		static: mustStatic(),
		cop:    http.NewCrossOriginProtection(),
	}
	h.tpl = mustTemplates(h.static)
	h.scannerSW = mustScannerSW(h.static)
	return h
}

// Register adds every page route to mux. Every route is here; pages need a
// session unless marked public.
func (h *Handler) Register(mux *http.ServeMux) {
	// Public.
	mux.Handle("GET /static/{version}/{path...}", http.HandlerFunc(h.serveStatic))
	mux.Handle("GET /signin", h.publicPage(h.signinPage))
	mux.Handle("POST /signin", h.publicPage(h.signinPost))
	mux.Handle("POST /signout", h.publicPage(h.signoutPost))
	mux.Handle("GET /scanner", h.publicPage(h.scannerPage))
	mux.Handle("GET "+scannerSWPath, h.headers(http.HandlerFunc(h.serveScannerSW)))

	// Signed in.
	mux.Handle("GET /{$}", h.publicPage(h.home)) // the sign-in page when signed out
	mux.Handle("GET /events/{event}", h.page(h.eventPage))
	mux.Handle("GET /events/{event}/devices", h.page(h.devicesPage))
	mux.Handle("GET /events/{event}/tickets", h.page(h.ticketsPage))
	mux.Handle("GET /import", h.page(h.importPage))
	mux.Handle("GET /qr.png", h.page(h.qrPNG))
}

// publicPage wraps a page that needs no session: security headers, and the
// cross-origin check on state-changing methods.
func (h *Handler) publicPage(fn func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return h.headers(h.cop.Handler(http.HandlerFunc(fn)))
}

// page wraps a page that needs a session: without one, the sign-in page.
func (h *Handler) page(fn func(w http.ResponseWriter, r *http.Request, s *admit.Session)) http.Handler {
	return h.publicPage(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.session(r)
		if err != nil {
			h.signinRequired(w, r, err)
			return
		}
		fn(w, r, s)
	})
}

// CSP is the Content-Security-Policy of every page: no inline script or
// style, nothing from another origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; media-src 'self' blob:; worker-src 'self'; manifest-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// headers sets the security headers of every page.
func (h *Handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
