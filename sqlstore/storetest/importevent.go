// Import tests of what surrounds the tickets: the check-in lists, the
// event's keys (verify-only, signing errors), the catalog version, the
// organizer, and lookups of rows that do not exist.

package storetest

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/admitdev/admit"
)

func testImportLists(t *testing.T, st admit.Store) {
	res, implicit := setup(t, st)
	evID := res.Event.ID
	// Lists appear: the one marked default is, the implicit one stays.
	f := fixture(t, func(f *admit.ImportFile) {
		no := false
		f.Lists = []admit.ImportList{
			{Name: "Main", Products: []string{"Pass", "VIP"}, Sections: []string{"Floor"}, AllowEntryAfterExit: &no},
			{Name: "Day 2 gate", Subevent: "Day 2", IncludePending: true, AllowMultipleEntries: true, Default: true},
		}
	})
	importFile(t, st, f, options(t, t0))
	lists, err := st.Lists(ctx, evID)
	must(t, err)
	byName := map[string]*admit.CheckinList{}
	for _, l := range lists {
		byName[l.Name] = l
	}
	prods, err := st.Products(ctx, evID)
	must(t, err)
	secs, err := st.Sections(ctx, evID)
	must(t, err)
	main, gate, def := byName["Main"], byName["Day 2 gate"], byName["Default"]
	if len(lists) != 3 || main == nil || gate == nil || def == nil || def.ID != implicit.ID {
		t.Fatalf("lists %+v", lists)
	}
	if !sameSet(main.ProductIDs, []int64{prods[0].ID, prods[2].ID}) || !slices.Equal(main.SectionIDs, []int64{secs[0].ID}) ||
		main.AllowEntryAfterExit || main.AllowMultipleEntries || main.IncludePending || main.IsDefault || main.SubeventID != 0 {
		t.Errorf("Main %+v", main)
	}
	if gate.SubeventID != res.Subevents[1].ID || !gate.IncludePending || !gate.AllowMultipleEntries || !gate.AllowEntryAfterExit ||
		!gate.IsDefault || len(gate.ProductIDs) != 0 {
		t.Errorf("gate %+v", gate)
	}
	if def.IsDefault {
		t.Errorf("the implicit list is still default")
	}
	d, err := st.DefaultList(ctx, evID)
	must(t, err)
	if d.ID != gate.ID {
		t.Errorf("DefaultList %+v", d)
	}
	// No list marked default: the file's first is.
	f = fixture(t, func(f *admit.ImportFile) {
		f.Lists = []admit.ImportList{{Name: "Main", Products: []string{"Pass"}}}
	})
	importFile(t, st, f, options(t, t0))
	d, err = st.DefaultList(ctx, evID)
	must(t, err)
	if d.ID != main.ID || !slices.Equal(d.ProductIDs, []int64{prods[0].ID}) || len(d.SectionIDs) != 0 || !d.AllowEntryAfterExit {
		t.Errorf("DefaultList %+v, want Main updated", d)
	}
	// No lists in the file: the lists and the default stay.
	importFile(t, st, fixture(t), options(t, t0))
	d, err = st.DefaultList(ctx, evID)
	must(t, err)
	lists, err = st.Lists(ctx, evID)
	must(t, err)
	if d.ID != main.ID || len(lists) != 3 {
		t.Errorf("after an import without lists: default %q, %d lists", d.Name, len(lists))
	}
}

func testImportKeys(t *testing.T, st admit.Store) {
	res1, _ := setup(t, st)
	// An existing event keeps its key pair, even if the file has a public key.
	other, err := admit.GenerateKeyPair(admit.SigningEd25519)
	must(t, err)
	f := fixture(t, func(f *admit.ImportFile) { f.Event.PublicKeyPEM = &other.PublicKeyPEM })
	res2 := importFile(t, st, f, options(t, t0))
	if *res2.Event != *res1.Event {
		t.Errorf("a signing event's keys changed: %+v", res2.Event)
	}
	// A new event without keys and without a public key cannot be created.
	f = fixture(t, func(f *admit.ImportFile) { f.Event.Slug = "keyless" })
	_, err = st.Import(ctx, f, admit.ImportOptions{Now: t0})
	if err == nil {
		t.Fatal("imported a new event without any key")
	}
	_, err = st.EventBySlug(ctx, res1.Organizer.ID, "keyless")
	wantCode(t, err, admit.ENotFound)
}

func testImportVerifyOnly(t *testing.T, st admit.Store) {
	issuer, err := admit.GenerateKeyPair(admit.SigningRSAPSS)
	must(t, err)
	f := fixture(t, func(f *admit.ImportFile) { f.Event.PublicKeyPEM = &issuer.PublicKeyPEM })
	opts := options(t, t0)
	opts.Sign = nil
	res := importFile(t, st, f, opts)
	if res.Event.PublicKeyPEM != issuer.PublicKeyPEM || res.Event.PrivateKeyPEM != "" || res.Event.Signing != admit.SigningRSAPSS {
		t.Errorf("verify-only event %+v", res.Event)
	}
	for _, tk := range res.Tickets {
		if tk.QRCode != "" {
			t.Errorf("a verify-only event's ticket has a QR code %q", tk.QRCode)
		}
	}
	// The issuer rotates its key: the event takes the new one.
	next, err := admit.GenerateKeyPair(admit.SigningEd25519)
	must(t, err)
	f = fixture(t, func(f *admit.ImportFile) { f.Event.PublicKeyPEM = &next.PublicKeyPEM; f.Event.Signing = "" })
	res2 := importFile(t, st, f, opts)
	if res2.Event.PublicKeyPEM != next.PublicKeyPEM || res2.Event.Signing != admit.SigningEd25519 || res2.Event.PrivateKeyPEM != "" ||
		res2.Event.ID != res.Event.ID || res2.Event.UUID != res.Event.UUID {
		t.Errorf("verify-only event after a new key %+v", res2.Event)
	}
}

func testNotFound(t *testing.T, st admit.Store) {
	res, def := setup(t, st)
	const none = 1 << 40
	for name, err := range map[string]error{
		"Organizer":           second(st.Organizer(ctx, none)),
		"OrganizerBySlug":     second(st.OrganizerBySlug(ctx, "none")),
		"Event":               second(st.Event(ctx, none)),
		"EventByUUID":         second(st.EventByUUID(ctx, admit.NewUUID())),
		"EventBySlug":         second(st.EventBySlug(ctx, res.Organizer.ID, "none")),
		"List":                second(st.List(ctx, none)),
		"DefaultList":         second(st.DefaultList(ctx, none)),
		"TicketByUUID":        second(st.TicketByUUID(ctx, admit.NewUUID())),
		"TicketBySecret":      second(st.TicketBySecret(ctx, res.Event.ID, "none")),
		"TicketBySerial":      second(st.TicketBySerial(ctx, res.Event.ID, "none")),
		"CheckinState":        second(st.CheckinState(ctx, res.Tickets[tAlice].ID, def.ID)),
		"Device":              second(st.Device(ctx, none)),
		"DeviceByUUID":        second(st.DeviceByUUID(ctx, admit.NewUUID())),
		"ArchiveDevice":       second(st.ArchiveDevice(ctx, admit.NewUUID())),
		"APIKeyByPrefix":      second(st.APIKeyByPrefix(ctx, "nonenone")),
		"Token":               second(st.Token(ctx, res.Event.ID, none)),
		"TokenByCode":         second(st.TokenByCode(ctx, "NONE")),
		"UpdateTokenSections": second(st.UpdateTokenSections(ctx, res.Event.ID, none, nil)),
		"DeleteToken":         st.DeleteToken(ctx, res.Event.ID, none),
	} {
		if admit.ErrorCode(err) != admit.ENotFound {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	// Empty lists are not errors.
	evs, err := st.Events(ctx, none)
	must(t, err)
	subs, err := st.Subevents(ctx, none)
	must(t, err)
	lists, err := st.Lists(ctx, none)
	must(t, err)
	if len(evs)+len(subs)+len(lists) != 0 {
		t.Errorf("lists of nothing: %v %v %v", evs, subs, lists)
	}
}

func second[T any](_ T, err error) error { return err }

func testImportSignError(t *testing.T, st admit.Store) {
	opts := options(t, t0)
	var calls atomic.Int64
	opts.Sign = func(ev *admit.Event, uuid string) (string, error) {
		if calls.Add(1) == 3 {
			return "", admit.Errorf(admit.EInvalid, "cannot sign")
		}
		return keys.SignCode(ev, uuid)
	}
	_, err := st.Import(ctx, fixture(t), opts)
	wantCode(t, err, admit.EInvalid)
	if _, err := st.OrganizerBySlug(ctx, "org"); admit.ErrorCode(err) != admit.ENotFound {
		t.Errorf("a failed import left its organizer: %v", err)
	}
	all, _, err := st.FindTickets(ctx, admit.TicketFilter{})
	must(t, err)
	if len(all) != 0 {
		t.Errorf("a failed import left %d tickets", len(all))
	}
	// Signing is only for new tickets: a re-import signs nothing.
	importFile(t, st, fixture(t), options(t, t0))
	opts.Sign = func(*admit.Event, string) (string, error) { return "", admit.Errorf(admit.EInvalid, "cannot sign") }
	importFile(t, st, fixture(t), opts)
}

// catalogVersioned is the store's catalog version, where it has one.
type catalogVersioned interface {
	CatalogVersion(ctx context.Context) (int64, error)
}

func testImportCatalogVersion(t *testing.T, st admit.Store) {
	cv, ok := st.(catalogVersioned)
	if !ok {
		t.Skip("no catalog version")
	}
	v0, err := cv.CatalogVersion(ctx)
	must(t, err)
	setup(t, st)
	v1, err := cv.CatalogVersion(ctx)
	must(t, err)
	if v1 <= v0 {
		t.Errorf("an import left the catalog version at %d (was %d)", v1, v0)
	}
	// A failed import does not move it.
	bad := fixture(t, func(f *admit.ImportFile) { f.Event.Slug = "keyless" })
	if _, err := st.Import(ctx, bad, admit.ImportOptions{Now: t0}); err == nil {
		t.Fatal("imported a new event without a key")
	}
	v2, err := cv.CatalogVersion(ctx)
	must(t, err)
	if v2 != v1 {
		t.Errorf("a failed import moved the catalog version %d -> %d", v1, v2)
	}
	importFile(t, st, fixture(t), options(t, t0))
	v3, err := cv.CatalogVersion(ctx)
	must(t, err)
	if v3 <= v2 {
		t.Errorf("a re-import left the catalog version at %d", v3)
	}
	// A ticket is read with the version of its snapshot.
	res := importFile(t, st, fixture(t), options(t, t0))
	v4, err := cv.CatalogVersion(ctx)
	must(t, err)
	tk, err := st.TicketByUUID(ctx, res.Tickets[tAlice].UUID)
	must(t, err)
	if tk.CatalogVersion != v4 || v4 <= v3 {
		t.Errorf("ticket read at catalog version %d, want %d (> %d)", tk.CatalogVersion, v4, v3)
	}
}

// An import whose organizer block names only the slug keeps the stored
// name and domain; one that gives them updates them.
func testImportOrganizerKept(t *testing.T, st admit.Store) {
	res1, _ := setup(t, st)
	org := *res1.Organizer
	res2 := importFile(t, st, fixture(t, func(f *admit.ImportFile) {
		f.Organizer.Name, f.Organizer.Domain = "", ""
	}), options(t, t0))
	if res2.Organizer.Name != org.Name || res2.Organizer.Domain != org.Domain || org.Name == "" {
		t.Errorf("organizer without name/domain: %+v, want %+v kept", res2.Organizer, org)
	}
	res3 := importFile(t, st, fixture(t, func(f *admit.ImportFile) {
		f.Organizer.Name, f.Organizer.Domain = "Renamed", "renamed.example.org"
	}), options(t, t0))
	if res3.Organizer.Name != "Renamed" || res3.Organizer.Domain != "renamed.example.org" {
		t.Errorf("organizer update: %+v", res3.Organizer)
	}
	fresh, err := st.Import(context.Background(), fixture(t, func(f *admit.ImportFile) {
		f.Organizer = admit.ImportOrganizer{Slug: "newcomer"}
		f.Orders = nil
	}), options(t, t0))
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Organizer.Name != "newcomer" {
		t.Errorf("a new organizer without a name is named %q, want its slug", fresh.Organizer.Name)
	}
}
