package admit

import (
	"encoding/csv"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The columns of a CSV import: one row per ticket, the rows of one order
// next to each other.
var (
	csvRequired = []string{"order_code", "order_status", "product", "first_name", "last_name", "email"}
	csvOptional = []string{"order_email", "section", "subevent", "uuid", "secret", "serial", "price",
		"valid_from", "valid_until", "blocked"}
	// csvField is each column's field name in the JSON format (for Place).
	csvField = map[string]string{"order_code": "code", "order_status": "status", "order_email": "order_email"}
)

// maxCSVRecord is the most bytes of one CSV row.
const maxCSVRecord = 1 << 20

// csvSource reads a CSV file's rows as orders: the adjacent rows that share
// an order code make one order. Memory holds one order.
type csvSource struct {
	h      *ImportFile
	cat    *importCatalog
	budget *budgetReader
	r      *csv.Reader
	col    map[string]int    // column -> index in a row
	names  map[string]string // JSON field -> the file's column name
	row    int               // the last row read (the header is row 1)
	next   []string          // a row read ahead (the next order's first)
	nextAt int
	eof    bool
}

// CSVColumns lists the columns of a CSV import: the required ones, then
// the optional ones.
func CSVColumns() (required, optional []string) {
	return append([]string(nil), csvRequired...), append([]string(nil), csvOptional...)
}

// newCSVSource reads the header row. mapping renames columns (column ->
// the file's header, case-insensitive); ignore lists the file's columns to
// skip. h is the header of the import (the existing event).
func newCSVSource(r io.Reader, h *ImportFile, mapping map[string]string, ignore []string) (*csvSource, error) {
	s := &csvSource{h: h, cat: &importCatalog{open: true}, budget: &budgetReader{r: r, limit: maxCSVRecord}}
	s.r = csv.NewReader(s.budget)
	s.r.ReuseRecord = false
	known := map[string]bool{}
	for _, c := range append(append([]string(nil), csvRequired...), csvOptional...) {
		known[c] = true
	}
	// The file's header text (lower case) of each column.
	want := map[string]string{}
	for c := range known {
		want[c] = c
	}
	for k, v := range mapping {
		k = strings.ToLower(strings.TrimSpace(k))
		if !known[k] {
			return nil, Errorf(EInvalid, "CSV mapping: unknown column %q (columns: %s)", k, strings.Join(append(append([]string(nil), csvRequired...), csvOptional...), ", "))
		}
		if strings.TrimSpace(v) == "" {
			return nil, Errorf(EInvalid, "CSV mapping: column %q: empty header name", k)
		}
		want[k] = strings.ToLower(strings.TrimSpace(v))
	}
	byHeader := map[string]string{}
	for c, hname := range want {
		if other, dup := byHeader[hname]; dup {
			return nil, Errorf(EInvalid, "CSV mapping: columns %q and %q both read the file's column %q", other, c, hname)
		}
		byHeader[hname] = c
	}
	skip := map[string]bool{}
	for _, n := range ignore {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			skip[n] = true
		}
	}
	head, err := s.read()
	if err == io.EOF {
		return nil, Errorf(EInvalid, "row 1: the CSV file is empty: it needs a header row")
	}
	if err != nil {
		return nil, err
	}
	s.col, s.names = map[string]int{}, map[string]string{}
	for i, name := range head {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // a spreadsheet's byte order mark
		}
		key := strings.ToLower(strings.TrimSpace(name))
		if skip[key] {
			continue
		}
		c, ok := byHeader[key]
		if !ok {
			return nil, Errorf(EInvalid, "row 1, column %d: unknown column %q (map it with a mapping such as order_code=%s, or ignore it)", i+1, name, name)
		}
		if _, dup := s.col[c]; dup {
			return nil, Errorf(EInvalid, "row 1, column %d: column %q is given twice", i+1, name)
		}
		s.col[c] = i
		f := c
		if jf, ok := csvField[c]; ok {
			f = jf
		}
		s.names[f] = strings.TrimSpace(name)
	}
	var missing []string
	for _, c := range csvRequired {
		if _, ok := s.col[c]; !ok {
			missing = append(missing, want[c])
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, Errorf(EInvalid, "row 1: missing column(s) %s", strings.Join(quoteAll(missing), ", "))
	}
	return s, nil
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Quote(x)
	}
	return out
}

// read reads one row within the row budget.
func (s *csvSource) read() ([]string, error) {
	s.budget.limit = s.budget.n + maxCSVRecord
	rec, err := s.r.Read()
	if err == io.EOF {
		return nil, err
	}
	s.row++
	if err != nil {
		if errors.Is(err, errValueTooLarge) {
			return nil, Errorf(EInvalid, "row %d: longer than %d MB", s.row, maxCSVRecord>>20)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, Errorf(EInvalid, "row %d: %d columns, the header has %d", s.row, len(rec), s.r.FieldsPerRecord)
			}
			return nil, Errorf(EInvalid, "malformed CSV: row %d (line %d, column %d): %v", s.row, pe.StartLine, pe.Column, pe.Err)
		}
		return nil, Errorf(EInvalid, "reading the CSV file: row %d: %v", s.row, err)
	}
	return rec, nil
}

func (s *csvSource) Header() *ImportFile { return s.h }

func (s *csvSource) get(rec []string, c string) string {
	if i, ok := s.col[c]; ok {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

func (s *csvSource) Next() (*ImportOrder, error) {
	if s.next == nil && !s.eof {
		rec, err := s.read()
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			return nil, err
		} else {
			s.next, s.nextAt = rec, s.row
		}
	}
	if s.next == nil {
		return nil, io.EOF
	}
	first := rowPlace(s.nextAt, s.names)
	o := &ImportOrder{Code: s.get(s.next, "order_code"), Status: strings.ToLower(s.get(s.next, "order_status"))}
	if o.Code == "" {
		return nil, bad(first.Field("code"), "required")
	}
	if _, ok := s.col["order_email"]; ok {
		o.Email = s.get(s.next, "order_email")
	} else {
		o.Email = s.get(s.next, "email")
	}
	if o.Status == "" {
		return nil, bad(first.Field("status"), "required")
	}
	for s.next != nil && s.get(s.next, "order_code") == o.Code {
		at := rowPlace(s.nextAt, s.names)
		if len(o.Tickets) >= MaxOrderTickets {
			return nil, bad(at.Field("code"), "order %q has more than %d tickets", o.Code, MaxOrderTickets)
		}
		if st := strings.ToLower(s.get(s.next, "order_status")); st != o.Status {
			return nil, bad(at.Field("status"), "%q, but %q on row %d, of the same order %q", st, o.Status, first.Row, o.Code)
		}
		t, err := s.ticket(s.next, at)
		if err != nil {
			return nil, err
		}
		o.Tickets = append(o.Tickets, t)
		rec, err := s.read()
		switch {
		case err == io.EOF:
			s.next, s.eof = nil, true
		case err != nil:
			return nil, err
		default:
			s.next, s.nextAt = rec, s.row
		}
	}
	if err := s.cat.checkOrder(o, first, nil); err != nil {
		return nil, err
	}
	return o, nil
}

func (s *csvSource) ticket(rec []string, at Place) (ImportTicket, error) {
	t := ImportTicket{Where: at, Product: s.get(rec, "product"), Price: s.get(rec, "price"),
		FirstName: s.get(rec, "first_name"), LastName: s.get(rec, "last_name"), Email: s.get(rec, "email"),
		Section: s.get(rec, "section"), Subevent: s.get(rec, "subevent"), UUID: s.get(rec, "uuid"),
		Secret: s.get(rec, "secret"), Serial: s.get(rec, "serial")}
	if v := s.get(rec, "valid_from"); v != "" {
		t.ValidFrom = &v
	}
	if v := s.get(rec, "valid_until"); v != "" {
		t.ValidUntil = &v
	}
	switch b := strings.ToLower(s.get(rec, "blocked")); b {
	case "", "false", "no", "0":
	case "true", "yes", "1":
		t.Blocked = true
	default:
		return t, bad(at.Field("blocked"), "must be true or false (or yes/no, 1/0, empty), not %q", b)
	}
	return t, nil
}
