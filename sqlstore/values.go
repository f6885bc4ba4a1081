package sqlstore

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ---------------------------------------------------------------------------
// Values in and out.

// ts binds a time: unix microseconds on SQLite, a UTC time on PostgreSQL.
func (s *Store) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.sqlite {
		return t.UnixMicro()
	}
	return t
}

// tsz binds a time, NULL for the zero time.
func (s *Store) tsz(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.ts(t)
}

// tsp binds an optional time.
func (s *Store) tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.ts(*t)
}

// nid binds an optional reference: NULL for 0.
func nid(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nstr binds an optional string: NULL for "".
func nstr(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// now is the current time as stored.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// tm scans a time column (unix microseconds or timestamptz); NULL is the
// zero time.
type tm struct{ t *time.Time }

func (d tm) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(x).UTC()
	case time.Time:
		*d.t = x.UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", v)
	}
	return nil
}

// tmp scans an optional time column into a *time.Time (nil for NULL).
type tmp struct{ t **time.Time }

func (d tmp) Scan(v any) error {
	if v == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (tm{&t}).Scan(v); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

// zid scans an optional reference; NULL is 0.
type zid struct{ p *int64 }

func (d zid) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.p = 0
	case int64:
		*d.p = x
	case int32:
		*d.p = int64(x)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into an id", v)
	}
	return nil
}

// zstr scans an optional text; NULL is "".
type zstr struct{ p *string }

func (d zstr) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.p = ""
	case string:
		*d.p = x
	case []byte:
		*d.p = string(x)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a string", v)
	}
	return nil
}

// placeholders returns "$from, $from+1, ..." for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// inIDs appends "col IN ($n, ...)" for ids to where and their values to args.
func inIDs(col string, ids []int64, args []any) (string, []any) {
	ph := placeholders(len(args)+1, len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	return col + " IN (" + ph + ")", args
}

// inSections is the condition that the ticket t is in one of the sections
// ids (a filter's SectionIDs, not nil: none given, no ticket), its values
// appended to args.
func inSections(ids []int64, args []any) (string, []any) {
	if len(ids) == 0 {
		return "1 = 0", args
	}
	return inIDs("t.section_id", ids, args)
}

// likeEscape escapes the LIKE wildcards of a user's text (ESCAPE '\').
func likeEscape(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(v)
}

// scanIDs reads a one-column list of ids.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
