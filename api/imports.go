package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// maxImport bounds an import's body. The import streams it (bounded
// memory, whatever its size); the bound only stops an endless body.
const maxImport = 4 << 30

// importBody checks an import's content type, bounds its body and spools
// it to a temporary file, which it returns at its start: the import reads
// the file, never the network. An import holds the store's writer while it
// runs (on SQLite the only one, which every scan needs); reading a slow
// upload inside it made every scan wait for the upload's end. The file is
// already unlinked: closing it frees its space.
func importBody(w http.ResponseWriter, r *http.Request, want string) (*os.File, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		return nil, &unsupported{"the body must be " + want}
	}
	// A large file takes longer than the server's usual read and write
	// timeouts allow: an import gets an hour.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(importTimeout))
	rc.SetWriteDeadline(time.Now().Add(importTimeout))
	return spool(http.MaxBytesReader(w, r.Body, maxImport))
}

// spool copies body to a new unlinked temporary file and returns it at its
// start.
func spool(body io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "admit-upload-*")
	if err != nil {
		return nil, admit.WrapInternal(err, "import: a temporary file for the upload")
	}
	os.Remove(f.Name()) // gone once closed
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &tooLarge{"an import body is at most 4 GiB"}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, bad("the upload took longer than an hour")
		}
		// The client went away (or the disk is full: logged as internal).
		return nil, admit.WrapInternal(err, "import: reading the upload")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, admit.WrapInternal(err, "import: the spooled upload")
	}
	return f, nil
}

// importTimeout bounds reading an import's body and writing its answer.
const importTimeout = time.Hour

// unsupported is a body of another content type than the route takes.
type unsupported struct{ msg string }

func (e *unsupported) Error() string { return e.msg }

func wantTickets(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("tickets"); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, bad(`tickets: "true" or "false", not ` + clip(v))
	}
}

// importJSON imports the JSON format of `admit import`, streamed: the
// file's organizer must be the key's.
func (h *Handler) importJSON(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	tickets, err := wantTickets(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := importBody(w, r, "application/json")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer body.Close()
	rep, err := h.core.ImportJSON(r.Context(), body, admit.ImportRequest{OrganizerID: c.OrganizerID})
	h.answerImport(w, r, rep, err, tickets)
}

// importCSV imports a CSV file of tickets into an event, streamed;
// ?map=order_code=Order number,email=E-mail renames columns.
func (h *Handler) importCSV(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tickets, err := wantTickets(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req := admit.CSVImportRequest{Event: ev, OrganizerID: c.OrganizerID}
	if m := r.URL.Query().Get("map"); m != "" {
		req.Map = map[string]string{}
		for _, pair := range strings.Split(m, ",") {
			col, header, ok := strings.Cut(pair, "=")
			if !ok || strings.TrimSpace(col) == "" || strings.TrimSpace(header) == "" {
				h.fail(w, r, bad("map: COLUMN=Header pairs separated by commas, not "+clip(pair)))
				return
			}
			req.Map[strings.ToLower(strings.TrimSpace(col))] = strings.TrimSpace(header)
		}
	}
	body, err := importBody(w, r, "text/csv")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer body.Close()
	rep, err := h.core.ImportCSV(r.Context(), body, req)
	h.answerImport(w, r, rep, err, tickets)
}

func (h *Handler) answerImport(w http.ResponseWriter, r *http.Request, rep *admit.ImportReport, err error, tickets bool) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rep.Close()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := rep.WriteJSON(r.Context(), w, tickets); err != nil && r.Context().Err() == nil {
		// Committed already: the answer is cut short, the import stands.
		h.log.Error("api: import answer cut short", "err", err)
	}
}
