package tibillet_test

import (
	"strings"
	"testing"
)

// A full area refuses in TiBillet's shape: 200, success false, a message
// that says the area is full; an exit frees nothing here (TiBillet has no
// exits), and the refusal is logged.
func TestScanRefusesWhenTheAreaIsFull(t *testing.T) {
	f := start(t)
	f.env.Import(t, strings.Replace(mainFixture, `"default": true}`, `"default": true, "capacity": 1}`, 1))
	_, key := f.device(t, "Gate 1", "democon", "")
	r := f.scan(t, key, f.qr[uJohn], f.ev.UUID)
	want(t, r, 200)
	if m := r.JSON(t); m["success"] != true {
		t.Fatalf("first entry: %s", r.Body)
	}
	r = f.scan(t, key, f.qr[uJane], f.ev.UUID)
	want(t, r, 200)
	m := r.JSON(t)
	if m["success"] != false || m["message"] != "Area full: no entry until someone leaves" {
		t.Fatalf("entry into a full area: %s", r.Body)
	}
	if tk := obj(t, m, "ticket"); tk["uuid"] != uJane || tk["status"] != "Valid and not scanned" {
		t.Errorf("ticket block of the refused entry: %v", tk)
	}
	// John, already inside, is told so (already scanned comes first).
	r = f.scan(t, key, f.qr[uJohn], f.ev.UUID)
	if m := r.JSON(t); m["success"] != false || m["message"] == "Area full: no entry until someone leaves" {
		t.Fatalf("rescan of a ticket inside: %s", r.Body)
	}
}
