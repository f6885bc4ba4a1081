package sqlstore

import (
	"context"

	"github.com/admitdev/admit"
)

// MigrateDownTo rolls the schema back to version v, for the tests of a
// migration's back-fill.
func (s *Store) MigrateDownTo(ctx context.Context, v int64) error {
	p, err := s.migrations(false)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, v)
	return err
}

// SearchPlan returns how the search of f is made: "scan" (every ticket of
// the event read), "indexed", "ids" (a page found by searchTop), "walk" (a
// page found by searchWalk), "grams" (PostgreSQL: a page in last-name order
// looked up by the bucketed trigrams terms, searchgrams.go), "pair grams"
// (the same, by the bucketed pairs of characters) or "none";
// short reports a query looked up by the trigrams that start with it, of
// which terms are the index's.
func (s *Store) SearchPlan(ctx context.Context, f admit.TicketFilter) (mode string, short bool, terms []string, err error) {
	sp, err := s.planSearch(ctx, f, !f.Count)
	if err != nil || sp == nil {
		return "", false, nil, err
	}
	if sp.walked {
		return "walk", false, nil, nil
	}
	if sp.byGrams() && sp.gramSkip != 0 {
		return "grams, bucket walked", false, sp.grams, nil
	}
	if sp.byGrams() && sp.pairGrams {
		return "pair grams", false, sp.grams, nil
	}
	if sp.byGrams() {
		return "grams", false, sp.grams, nil
	}
	return [...]string{searchScan: "scan", searchIndexed: "indexed", searchIDs: "ids", searchNone: "none"}[sp.mode],
		sp.short, sp.terms, nil
}

// SearchWalk turns the walk of a short query's page (searchWalk) on or
// off, and returns a function that restores it.
func SearchWalk(on bool) (restore func()) {
	was := walkOff.Swap(!on)
	return func() { walkOff.Store(was) }
}

// SearchTopExtraAlways makes the SQLite page in last-name order read the
// "starts with" and product candidates in order, however few (topExtra);
// it returns a function that restores the default.
func SearchTopExtraAlways(on bool) (restore func()) {
	was := topExtraAlways.Swap(on)
	return func() { topExtraAlways.Store(was) }
}

// SearchMergeFloor sets the number of tickets an import creates or updates
// from which the SQLite search index is merged after it, and the number of
// segments from which it is merged; it returns a function that restores
// the defaults.
func SearchMergeFloor(tickets, segments int64) (restore func()) {
	was, wasSegments := searchMergeFloor.Swap(tickets), searchMergeSegments.Swap(segments)
	return func() { searchMergeFloor.Store(was); searchMergeSegments.Store(wasSegments) }
}

// SearchGrams turns the lookup of a page by the bucketed trigrams
// (PostgreSQL, searchgrams.go) on or off, and returns a function that
// restores it.
func SearchGrams(on bool) (restore func()) {
	was := gramsOff.Swap(!on)
	return func() { gramsOff.Store(was) }
}

// GramKeys returns the keys a query is looked up by in the bucketed
// trigrams (wordGrams).
func (s *Store) GramKeys(ctx context.Context, q string) ([]string, error) { return s.wordGrams(ctx, q) }

// PGContains returns the condition "expr contains q" that a PostgreSQL
// search looks its candidates up by (pgContains), and its arguments.
func PGContains(expr, q string) (string, []any) {
	b := &binder{}
	return pgContains(b, expr, q), b.args
}
