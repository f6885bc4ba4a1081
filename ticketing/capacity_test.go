package ticketing_test

import (
	"strings"
	"testing"
)

// A full area refuses in TickeTing's shape: no serial admitted is a 400
// with an "error" that says the area is full.
func TestAdmitRefusesWhenTheAreaIsFull(t *testing.T) {
	f := start(t)
	f.env.Import(t, strings.Replace(mainFixture, `{"name": "Balcony", "description": "Seated"}`,
		`{"name": "Balcony", "description": "Seated", "capacity": 0}`, 1))
	wantError(t, f.admitSerials(t, f.key, serCharles), 400, "None of the provided ticket serials was admitted: the area is full")
	// Another section has room: the same request shape admits.
	r := f.admitSerials(t, f.key, serAda)
	want(t, r, 201)
	// Refused for another reason than capacity: the usual answer.
	wantError(t, f.admitSerials(t, f.key, serCanceled), 400, "None of the provided ticket serials grants admission to this event")
}
