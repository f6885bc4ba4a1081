package admit

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
)

// ImportSource is an import file read as it goes, for Store.ImportStream:
// its header (everything but the orders) first, then its orders one at a
// time, each checked against the header. Memory stays bounded by one order.
type ImportSource interface {
	// Header is the file without its orders, checked. Its Lists are
	// complete once Next has returned io.EOF (a JSON file may give them
	// after the orders).
	Header() *ImportFile
	// Next returns the next order, checked, or io.EOF after the last one.
	// Values used twice across orders (order codes, ticket uuids, secrets,
	// serials) are the store's to find.
	Next() (*ImportOrder, error)
}

// FileSource is an import file held in memory, validated (Validate), as a
// source.
func FileSource(f *ImportFile) ImportSource {
	h := *f
	h.Orders = nil
	return &fileSource{h: &h, orders: f.Orders}
}

type fileSource struct {
	h      *ImportFile
	orders []ImportOrder
	i      int
}

func (s *fileSource) Header() *ImportFile { return s.h }

func (s *fileSource) Next() (*ImportOrder, error) {
	if s.i >= len(s.orders) {
		return nil, io.EOF
	}
	s.i++
	return &s.orders[s.i-1], nil
}

// Limits of a streamed JSON file.
const (
	// maxJSONValue is the most bytes of one order, or of one value of the
	// header (the organizer, the event, the products...).
	maxJSONValue = 16 << 20
	// maxJSONKey bounds a top-level key and the tokens around it.
	maxJSONKey = 64 << 10
)

var errValueTooLarge = errors.New("too large")

// budgetReader fails a read past limit: a JSON or CSV decoder buffers one
// whole value (an order, a record) before it returns it, so the budget
// bounds what one value can make it hold.
type budgetReader struct {
	r     io.Reader
	n     int64 // bytes read so far
	limit int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		return 0, errValueTooLarge
	}
	if rest := b.limit - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// jsonSource streams an import file in JSON. The top-level object is read
// key by key; every header value is decoded whole (each is small), the
// orders one at a time. When "orders" comes after the organizer, the
// event, the subevents, the sections and the products (as the documented
// format has it; the lists may follow), the orders are checked and handed
// to the store as they are read: one pass, nothing kept. When it comes
// before one of those, the orders cannot be checked yet: each is read as
// raw JSON into a temporary file, and read back from there once the rest of
// the header is known (the file holds the orders, never memory).
type jsonSource struct {
	budget *budgetReader
	dec    *json.Decoder
	h      ImportFile
	cat    *importCatalog
	seen   map[string]bool

	orders *json.Decoder // the orders array's elements (dec), or the spool's values
	spool  *os.File
	i      int  // the next order's index
	direct bool // orders are read from dec, inside the array
	done   bool
}

// headerKeys are the top-level keys besides "orders".
var headerKeys = []string{"organizer", "event", "subevents", "sections", "products", "lists"}

// newJSONSource reads the file's header (and spools the orders if they come
// before it) and checks it.
func newJSONSource(r io.Reader) (*jsonSource, error) {
	s := &jsonSource{budget: &budgetReader{r: r}, seen: map[string]bool{}}
	s.dec = json.NewDecoder(s.budget)
	s.dec.DisallowUnknownFields()
	if err := s.expectDelim('{', "the import file must be one JSON object"); err != nil {
		return nil, err
	}
	if err := s.readKeys(); err != nil {
		s.Close()
		return nil, err
	}
	if !s.direct {
		// No "orders", or spooled: the object is complete.
		if err := s.end(); err != nil {
			s.Close()
			return nil, err
		}
	}
	cat, err := s.h.validateHeader()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.cat = cat
	if s.done {
		if err := s.h.validateLists(cat); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *jsonSource) malformed(place string, err error) error {
	if errors.Is(err, errValueTooLarge) {
		return Errorf(EInvalid, "%s: larger than %d MB", place, maxJSONValue>>20)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return Errorf(EInvalid, "malformed import JSON: %s: the file ends early (at byte %d)", place, s.dec.InputOffset())
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return Errorf(EInvalid, "malformed import JSON: %s: %v (at byte %d)", place, err, se.Offset)
	}
	if _, ok := err.(*json.UnmarshalTypeError); ok || isJSONDecodeError(err) {
		return Errorf(EInvalid, "%s: %v", place, err)
	}
	return Errorf(EInvalid, "reading the import file: %s: %v", place, err)
}

// isJSONDecodeError reports an error of encoding/json about the content
// (an unknown field), not the reader.
func isJSONDecodeError(err error) bool {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return false
	}
	return len(err.Error()) > 5 && err.Error()[:5] == "json:"
}

func (s *jsonSource) token(place string) (json.Token, error) {
	s.budget.limit = s.budget.n + maxJSONKey
	t, err := s.dec.Token()
	if err != nil {
		return nil, s.malformed(place, err)
	}
	return t, nil
}

func (s *jsonSource) expectDelim(d json.Delim, msg string) error {
	t, err := s.token("the top level")
	if err != nil {
		return err
	}
	if t != d {
		return Errorf(EInvalid, "malformed import JSON: %s", msg)
	}
	return nil
}

// value decodes the next value (at place) into v, within the value budget.
func (s *jsonSource) value(dec *json.Decoder, place string, v any) error {
	if dec == s.dec {
		s.budget.limit = s.budget.n + maxJSONValue
	}
	if err := dec.Decode(v); err != nil {
		return s.malformed(place, err)
	}
	return nil
}

// readKeys reads the top-level keys up to the orders, when they can be
// streamed, or to the end of the object.
func (s *jsonSource) readKeys() error {
	for s.dec.More() {
		t, err := s.token("the top level")
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if s.seen[key] {
			return Errorf(EInvalid, "malformed import JSON: the key %q is given twice", key)
		}
		s.seen[key] = true
		var dst any
		switch key {
		case "organizer":
			dst = &s.h.Organizer
		case "event":
			dst = &s.h.Event
		case "subevents":
			dst = &s.h.Subevents
		case "sections":
			dst = &s.h.Sections
		case "products":
			dst = &s.h.Products
		case "lists":
			dst = &s.h.Lists
		case "orders":
			ready := true
			for _, k := range headerKeys[:5] {
				ready = ready && s.seen[k]
			}
			t, err := s.token("orders")
			if err != nil {
				return err
			}
			if t == nil { // "orders": null
				continue
			}
			if t != json.Delim('[') {
				return Errorf(EInvalid, "orders: must be an array")
			}
			if ready {
				s.orders, s.direct = s.dec, true
				return nil
			}
			if err := s.spoolOrders(); err != nil {
				return err
			}
			continue
		default:
			return Errorf(EInvalid, "malformed import JSON: unknown field %q", key)
		}
		if err := s.value(s.dec, key, dst); err != nil {
			return err
		}
	}
	return nil
}

// spoolOrders copies the orders array's elements, each checked to be one
// JSON value, to a temporary file, one after the other.
func (s *jsonSource) spoolOrders() error {
	f, err := os.CreateTemp("", "admit-import-*.json")
	if err != nil {
		return WrapInternal(err, "import spool")
	}
	os.Remove(f.Name()) // gone once closed
	s.spool = f
	w := bufio.NewWriterSize(f, 1<<20)
	n := 0
	var raw json.RawMessage
	for s.dec.More() {
		if err := s.value(s.dec, orderPlace(n).String(), &raw); err != nil {
			return err
		}
		if _, err := w.Write(raw); err != nil {
			return WrapInternal(err, "import spool")
		}
		w.WriteByte('\n')
		n++
	}
	if _, err := s.token("orders"); err != nil { // ]
		return err
	}
	if err := w.Flush(); err != nil {
		return WrapInternal(err, "import spool")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return WrapInternal(err, "import spool")
	}
	s.orders = json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	s.orders.DisallowUnknownFields()
	return nil
}

// end reads the end of the top-level object and checks nothing follows.
func (s *jsonSource) end() error {
	if _, err := s.token("the top level"); err != nil { // }
		return err
	}
	if s.dec.More() {
		return Errorf(EInvalid, "malformed import JSON: more than one JSON value")
	}
	s.done = true
	return nil
}

func (s *jsonSource) Header() *ImportFile { return &s.h }

func (s *jsonSource) Next() (*ImportOrder, error) {
	if s.orders == nil {
		return nil, io.EOF
	}
	if !s.orders.More() {
		s.orders = nil
		if s.direct {
			if _, err := s.token("orders"); err != nil { // ]
				return nil, err
			}
			// The keys after the orders (the lists), the end, the lists.
			if err := s.readKeys(); err != nil {
				return nil, err
			}
			if s.orders != nil {
				return nil, Errorf(EInvalid, "malformed import JSON: the key \"orders\" is given twice")
			}
			if err := s.end(); err != nil {
				return nil, err
			}
			if err := s.h.validateLists(s.cat); err != nil {
				return nil, err
			}
		}
		return nil, io.EOF
	}
	place := orderPlace(s.i)
	o := &ImportOrder{}
	if err := s.value(s.orders, place.String(), o); err != nil {
		return nil, err
	}
	s.i++
	if err := s.cat.checkOrder(o, place, nil); err != nil {
		return nil, err
	}
	return o, nil
}

// Close removes the spool, if any.
func (s *jsonSource) Close() error {
	if s.spool != nil {
		err := s.spool.Close()
		s.spool = nil
		return err
	}
	return nil
}
