package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

func testDevices(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	d := &admit.Device{OrganizerID: res.Organizer.ID, EventID: res.Event.ID, ListID: l.ID, Name: "Gate A",
		PairingExpires: t0.Add(time.Hour), CreatedAt: t0}
	must(t, st.CreateDevice(ctx, d, admit.HashSecret("token-a")))
	if d.ID == 0 || !admit.ValidUUID(d.UUID) {
		t.Fatalf("created device %+v", d)
	}
	got, err := st.Device(ctx, d.ID)
	must(t, err)
	if *got != *d {
		t.Errorf("Device %+v, want %+v", got, d)
	}
	got, err = st.DeviceByUUID(ctx, d.UUID)
	must(t, err)
	if *got != *d {
		t.Errorf("DeviceByUUID %+v, want %+v", got, d)
	}
	// Organizer-wide, without a pairing token, with a uuid of its own.
	d2 := &admit.Device{UUID: admit.NewUUID(), OrganizerID: res.Organizer.ID, Name: "Roaming"}
	must(t, st.CreateDevice(ctx, d2, nil))
	got, err = st.Device(ctx, d2.ID)
	must(t, err)
	if got.UUID != d2.UUID || got.EventID != 0 || got.ListID != 0 || !got.PairingExpires.IsZero() || got.CreatedAt.IsZero() {
		t.Errorf("device %+v", got)
	}
	// A uuid or a pairing token twice is a conflict.
	err = st.CreateDevice(ctx, &admit.Device{UUID: d2.UUID, OrganizerID: res.Organizer.ID}, nil)
	wantCode(t, err, admit.EConflict)
	err = st.CreateDevice(ctx, &admit.Device{OrganizerID: res.Organizer.ID}, admit.HashSecret("token-a"))
	wantCode(t, err, admit.EConflict)

	// Archiving voids the device's token; its keys stay (the core refuses
	// them by the device's Archived flag, and says why).
	key := &admit.APIKey{Kind: admit.KeyDevice, Prefix: "devkey01", Hash: admit.HashSecret("k"), OrganizerID: res.Organizer.ID, DeviceID: d2.ID}
	must(t, st.CreateAPIKey(ctx, key))
	arch, err := st.ArchiveDevice(ctx, d.UUID)
	must(t, err)
	if !arch.Archived || arch.ID != d.ID {
		t.Errorf("archived %+v", arch)
	}
	_, err = st.PairDevice(ctx, admit.HashSecret("token-a"), 0, t0, &admit.APIKey{Kind: admit.KeyDevice, Prefix: "pairpair", Hash: []byte{1}})
	wantCode(t, err, admit.ENotFound)
	_, err = st.ArchiveDevice(ctx, d2.UUID)
	must(t, err)
	k2, err := st.APIKeyByPrefix(ctx, "devkey01")
	must(t, err)
	if k2.DeviceID != d2.ID {
		t.Errorf("key %+v", k2)
	}
	got, err = st.Device(ctx, d2.ID)
	must(t, err)
	if !got.Archived {
		t.Errorf("device not archived")
	}
}

func testPairing(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	org := res.Organizer.ID
	mk := func(token string, expires time.Time) *admit.Device {
		d := &admit.Device{OrganizerID: org, EventID: res.Event.ID, Name: token, PairingExpires: expires}
		must(t, st.CreateDevice(ctx, d, admit.HashSecret(token)))
		return d
	}
	d := mk("tok-1", t0.Add(10*time.Minute))
	expired := mk("tok-2", t0.Add(-time.Second))
	atExpiry := mk("tok-3", t0)

	_, prefix, hash := admit.NewAPIKey()
	key := &admit.APIKey{Kind: admit.KeyDevice, Prefix: prefix, Hash: hash, Name: "paired", EventID: res.Event.ID}
	paired, err := st.PairDevice(ctx, admit.HashSecret("tok-1"), 0, t0, key)
	must(t, err)
	if paired.ID != d.ID || !paired.Claimed || paired.Archived {
		t.Errorf("paired %+v", paired)
	}
	if key.ID == 0 || key.DeviceID != d.ID || key.OrganizerID != org {
		t.Errorf("key %+v", key)
	}
	got, err := st.APIKeyByPrefix(ctx, prefix)
	must(t, err)
	if got.ID != key.ID || got.DeviceID != d.ID || got.Kind != admit.KeyDevice ||
		string(got.Hash) != string(hash) || got.Name != "paired" || got.EventID != res.Event.ID || got.Revoked {
		t.Errorf("stored key %+v", got)
	}
	dd, err := st.Device(ctx, d.ID)
	must(t, err)
	if !dd.Claimed {
		t.Errorf("device not claimed")
	}

	// Single use.
	_, p2, h2 := admit.NewAPIKey()
	_, err = st.PairDevice(ctx, admit.HashSecret("tok-1"), 0, t0, &admit.APIKey{Kind: admit.KeyDevice, Prefix: p2, Hash: h2})
	wantCode(t, err, admit.ENotFound)
	_, err = st.APIKeyByPrefix(ctx, p2)
	wantCode(t, err, admit.ENotFound)
	// Expired, at expiry, unknown.
	for name, token := range map[string]string{"expired": "tok-2", "at expiry": "tok-3", "unknown": "tok-9"} {
		_, err = st.PairDevice(ctx, admit.HashSecret(token), 0, t0, &admit.APIKey{Kind: admit.KeyDevice, Prefix: p2, Hash: h2})
		if admit.ErrorCode(err) != admit.ENotFound {
			t.Errorf("%s token: %v", name, err)
		}
	}
	for _, x := range []*admit.Device{expired, atExpiry} {
		dd, err := st.Device(ctx, x.ID)
		must(t, err)
		if dd.Claimed {
			t.Errorf("device %s claimed", x.Name)
		}
	}
	// A token of another organizer than the one asked for is unknown, and
	// stays unused; with its own organizer it pairs.
	d6 := mk("tok-6", t0.Add(time.Hour))
	_, p6, h6 := admit.NewAPIKey()
	_, err = st.PairDevice(ctx, admit.HashSecret("tok-6"), org+1000, t0, &admit.APIKey{Kind: admit.KeyDevice, Prefix: p6, Hash: h6})
	wantCode(t, err, admit.ENotFound)
	dd, err = st.Device(ctx, d6.ID)
	must(t, err)
	if dd.Claimed {
		t.Errorf("a pairing for another organizer claimed the device")
	}
	paired, err = st.PairDevice(ctx, admit.HashSecret("tok-6"), org, t0, &admit.APIKey{Kind: admit.KeyDevice, Prefix: p6, Hash: h6})
	must(t, err)
	if paired.ID != d6.ID {
		t.Errorf("paired %+v, want device %d", paired, d6.ID)
	}
	// A key whose prefix is taken fails the pairing, which stays unused.
	d4 := mk("tok-4", t0.Add(time.Hour))
	_, err = st.PairDevice(ctx, admit.HashSecret("tok-4"), 0, t0, &admit.APIKey{Kind: admit.KeyDevice, Prefix: prefix, Hash: h2})
	wantCode(t, err, admit.EConflict)
	dd, err = st.Device(ctx, d4.ID)
	must(t, err)
	if dd.Claimed {
		t.Errorf("a failed pairing claimed the device")
	}

	// Concurrent pairings with one token: exactly one wins.
	mk("tok-5", t0.Add(time.Hour))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, p, h := admit.NewAPIKey()
			_, err := st.PairDevice(ctx, admit.HashSecret("tok-5"), 0, t0, &admit.APIKey{Kind: admit.KeyDevice, Prefix: p, Hash: h, Name: fmt.Sprint(i)})
			mu.Lock()
			defer mu.Unlock()
			switch admit.ErrorCode(err) {
			case "":
				wins++
			case admit.ENotFound:
			default:
				t.Errorf("pairing: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d pairings with one token succeeded", wins)
	}
}

func testAPIKeys(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	org := res.Organizer.ID
	_, prefix, hash := admit.NewAPIKey()
	k := &admit.APIKey{Kind: admit.KeyPretixdroid, Prefix: prefix, Hash: hash, Name: "droid", OrganizerID: org,
		EventID: res.Event.ID, ListID: l.ID, SubeventID: res.Subevents[0].ID, AllowSearch: true, ShowInfo: true, CreatedAt: t0}
	must(t, st.CreateAPIKey(ctx, k))
	if k.ID == 0 {
		t.Fatal("no id")
	}
	got, err := st.APIKeyByPrefix(ctx, prefix)
	must(t, err)
	if got.ID != k.ID || got.Kind != k.Kind || got.Prefix != prefix || string(got.Hash) != string(hash) || got.Name != "droid" ||
		got.OrganizerID != org || got.EventID != k.EventID || got.ListID != l.ID || got.SubeventID != k.SubeventID ||
		!got.AllowSearch || !got.ShowInfo || !got.CreatedAt.Equal(t0) || got.Revoked || got.DeviceID != 0 || got.TokenID != 0 {
		t.Errorf("key %+v, want %+v", got, k)
	}
	err = st.CreateAPIKey(ctx, &admit.APIKey{Kind: admit.KeyManagement, Prefix: prefix, Hash: hash, OrganizerID: org})
	wantCode(t, err, admit.EConflict)
	mgmt := &admit.APIKey{Kind: admit.KeyManagement, Prefix: "mgmtkey1", Hash: hash, OrganizerID: org}
	must(t, st.CreateAPIKey(ctx, mgmt))
	if mgmt.CreatedAt.IsZero() {
		t.Errorf("CreatedAt not set")
	}

	// Staff keys live as long as their token.
	tok := &admit.AdmissionToken{EventID: res.Event.ID, Code: "STAFF001"}
	must(t, st.CreateToken(ctx, tok))
	staff := []*admit.APIKey{
		{Kind: admit.KeyStaff, Prefix: "staff001", Hash: hash, OrganizerID: org, EventID: res.Event.ID, TokenID: tok.ID},
		{Kind: admit.KeyStaff, Prefix: "staff002", Hash: hash, OrganizerID: org, EventID: res.Event.ID, TokenID: tok.ID},
	}
	for _, s := range staff {
		must(t, st.CreateAPIKey(ctx, s))
	}
	got, err = st.APIKeyByPrefix(ctx, "staff001")
	must(t, err)
	if got.TokenID != tok.ID || got.Kind != admit.KeyStaff {
		t.Errorf("staff key %+v", got)
	}
	must(t, st.RevokeTokenKeys(ctx, tok.ID))
	for _, s := range staff {
		_, err = st.APIKeyByPrefix(ctx, s.Prefix)
		wantCode(t, err, admit.ENotFound)
	}
	// Other keys are untouched.
	_, err = st.APIKeyByPrefix(ctx, prefix)
	must(t, err)
	_, err = st.APIKeyByPrefix(ctx, "mgmtkey1")
	must(t, err)
	// A staff key of a deleted token is refused even if not revoked.
	tok2 := &admit.AdmissionToken{EventID: res.Event.ID}
	must(t, st.CreateToken(ctx, tok2))
	s3 := &admit.APIKey{Kind: admit.KeyStaff, Prefix: "staff003", Hash: hash, OrganizerID: org, EventID: res.Event.ID, TokenID: tok2.ID}
	must(t, st.CreateAPIKey(ctx, s3))
	_, err = st.APIKeyByPrefix(ctx, "staff003")
	must(t, err)
	must(t, st.DeleteToken(ctx, res.Event.ID, tok2.ID))
	_, err = st.APIKeyByPrefix(ctx, "staff003")
	wantCode(t, err, admit.ENotFound)
	// A revoked key cannot be found, and a new token cannot revive it.
	_, err = st.APIKeyByPrefix(ctx, "staff001")
	wantCode(t, err, admit.ENotFound)
}

func testTokens(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	ev := res.Event.ID
	secs, err := st.Sections(ctx, ev)
	must(t, err)
	floor, balcony := secs[0].ID, secs[1].ID

	a := &admit.AdmissionToken{EventID: ev, Code: "AAAA0001", SectionIDs: []int64{balcony, floor}}
	must(t, st.CreateToken(ctx, a))
	g := &admit.AdmissionToken{EventID: ev, Code: "GLOBAL01", Global: true}
	must(t, st.CreateToken(ctx, g))
	b := &admit.AdmissionToken{EventID: ev, SectionIDs: []int64{floor}}
	must(t, st.CreateToken(ctx, b))
	if a.ID == 0 || g.ID == 0 || b.ID == 0 || a.CreatedAt.IsZero() || b.Code != "" || !b.NoCode || a.NoCode {
		t.Fatalf("created %+v %+v %+v", a, g, b)
	}
	if got, err := st.Token(ctx, ev, b.ID); err != nil || !got.NoCode {
		t.Fatalf("a token made without a code reads back %+v %v", got, err)
	}
	// A token made without a code gets one once; no code finds it before.
	if ok, err := st.RevealTokenCode(ctx, ev+1000, b.ID, "BBBB0001"); err != nil || ok {
		t.Fatalf("RevealTokenCode of another event's token: %v %v", ok, err)
	}
	if ok, err := st.RevealTokenCode(ctx, ev, b.ID, "BBBB0001"); err != nil || !ok {
		t.Fatalf("RevealTokenCode: %v %v", ok, err)
	}
	if ok, err := st.RevealTokenCode(ctx, ev, b.ID, "BBBB0002"); err != nil || ok {
		t.Fatalf("RevealTokenCode a second time: %v %v", ok, err)
	}
	if ok, err := st.RevealTokenCode(ctx, ev, a.ID, "BBBB0003"); err != nil || ok {
		t.Fatalf("RevealTokenCode of a token made with its code: %v %v", ok, err)
	}
	if got, err := st.TokenByCode(ctx, "BBBB0001"); err != nil || got.ID != b.ID || got.NoCode {
		t.Fatalf("TokenByCode of a revealed code: %+v %v", got, err)
	}
	_, err = st.TokenByCode(ctx, "BBBB0002")
	wantCode(t, err, admit.ENotFound)
	got, err := st.Token(ctx, ev, a.ID)
	must(t, err)
	// A code is never read back: only its keyed hash is stored.
	if got.ID != a.ID || got.Code != "" || got.Global || got.EventID != ev ||
		!slices.Equal(got.SectionIDs, []int64{min(floor, balcony), max(floor, balcony)}) {
		t.Errorf("Token %+v", got)
	}
	got, err = st.TokenByCode(ctx, "GLOBAL01")
	must(t, err)
	if got.ID != g.ID || !got.Global || len(got.SectionIDs) != 0 || got.Code != "" {
		t.Errorf("TokenByCode %+v", got)
	}
	// A code typed in lower case finds its token; a near miss does not.
	got, err = st.TokenByCode(ctx, "aaaa0001")
	must(t, err)
	if got.ID != a.ID {
		t.Errorf("TokenByCode in lower case %+v", got)
	}
	_, err = st.TokenByCode(ctx, "AAAA0002")
	wantCode(t, err, admit.ENotFound)
	if ts, _, err := st.Tokens(ctx, ev, nil, 0, 0); err != nil || len(ts) != 3 || ts[0].Code != "" || ts[1].Code != "" {
		t.Errorf("Tokens %v %v: codes must not be read back", ts, err)
	}
	// Scoped to the event.
	_, err = st.Token(ctx, ev+1000, a.ID)
	wantCode(t, err, admit.ENotFound)
	// Codes are unique; one global token per event.
	wantCode(t, st.CreateToken(ctx, &admit.AdmissionToken{EventID: ev, Code: "AAAA0001"}), admit.EConflict)
	wantCode(t, st.CreateToken(ctx, &admit.AdmissionToken{EventID: ev, Global: true}), admit.EConflict)
	// A section of another event is refused.
	other := importFile(t, st, fixture(t, func(f *admit.ImportFile) { f.Event.Slug = "other"; f.Orders = nil }), options(t, t0))
	osecs, err := st.Sections(ctx, other.Event.ID)
	must(t, err)
	wantCode(t, st.CreateToken(ctx, &admit.AdmissionToken{EventID: ev, SectionIDs: []int64{osecs[0].ID}}), admit.EInvalid)

	list := func(global *bool, limit, offset int) ([]int64, int) {
		ts, n, err := st.Tokens(ctx, ev, global, limit, offset)
		must(t, err)
		return ids(ts, func(t *admit.AdmissionToken) int64 { return t.ID }), n
	}
	yes, no := true, false
	for _, c := range []struct {
		name          string
		global        *bool
		limit, offset int
		want          []int64
		n             int
	}{
		{"all", nil, 0, 0, []int64{g.ID, a.ID, b.ID}, 3},
		{"global", &yes, 0, 0, []int64{g.ID}, 1},
		{"not global", &no, 0, 0, []int64{a.ID, b.ID}, 2},
		{"page", nil, 1, 1, []int64{a.ID}, 3},
		{"past the end", nil, 5, 5, nil, 3},
	} {
		got, n := list(c.global, c.limit, c.offset)
		if fmt.Sprint(got) != fmt.Sprint(c.want) && len(got)+len(c.want) > 0 || n != c.n {
			t.Errorf("Tokens %s: %v (%d), want %v (%d)", c.name, got, n, c.want, c.n)
		}
	}
	ts, _, err := st.Tokens(ctx, ev, nil, 0, 0)
	must(t, err)
	if len(ts[1].SectionIDs) != 2 {
		t.Errorf("Tokens without sections %+v", ts[1])
	}

	up, err := st.UpdateTokenSections(ctx, ev, a.ID, []int64{balcony})
	must(t, err)
	if up.ID != a.ID || !slices.Equal(up.SectionIDs, []int64{balcony}) || up.Code != "" {
		t.Errorf("updated %+v", up)
	}
	up, err = st.UpdateTokenSections(ctx, ev, a.ID, nil)
	must(t, err)
	if len(up.SectionIDs) != 0 {
		t.Errorf("cleared %+v", up)
	}
	_, err = st.UpdateTokenSections(ctx, ev+1000, a.ID, []int64{floor})
	wantCode(t, err, admit.ENotFound)
	_, err = st.UpdateTokenSections(ctx, ev, a.ID, []int64{osecs[0].ID})
	wantCode(t, err, admit.EInvalid)

	// Delete: the token goes, its keys are revoked, in one transaction.
	k := &admit.APIKey{Kind: admit.KeyStaff, Prefix: "staffbbb", Hash: []byte{1}, EventID: ev, TokenID: b.ID}
	must(t, st.CreateAPIKey(ctx, k))
	wantCode(t, st.DeleteToken(ctx, ev+1000, b.ID), admit.ENotFound)
	must(t, st.DeleteToken(ctx, ev, b.ID))
	wantCode(t, st.DeleteToken(ctx, ev, b.ID), admit.ENotFound)
	_, err = st.Token(ctx, ev, b.ID)
	wantCode(t, err, admit.ENotFound)
	_, err = st.APIKeyByPrefix(ctx, "staffbbb")
	wantCode(t, err, admit.ENotFound)
	if got, n := list(nil, 0, 0); fmt.Sprint(got) != fmt.Sprint([]int64{g.ID, a.ID}) || n != 2 {
		t.Errorf("after delete: %v", got)
	}
	// A token made after a delete does not revive the deleted one's keys.
	c := &admit.AdmissionToken{EventID: ev}
	must(t, st.CreateToken(ctx, c))
	_, err = st.APIKeyByPrefix(ctx, "staffbbb")
	wantCode(t, err, admit.ENotFound)
}

func testHit(t *testing.T, st admit.Store) {
	w := time.Minute
	at := t0.Add(10 * time.Second)
	for i := 1; i <= 3; i++ {
		n, err := st.Hit(ctx, "ip:1", at.Add(time.Duration(i)*time.Second), w)
		must(t, err)
		if n != i {
			t.Errorf("hit %d: count %d", i, n)
		}
	}
	n, err := st.Hit(ctx, "ip:2", at, w)
	must(t, err)
	if n != 1 {
		t.Errorf("another key: %d", n)
	}
	// The next window starts again.
	n, err = st.Hit(ctx, "ip:1", t0.Add(w), w)
	must(t, err)
	if n != 1 {
		t.Errorf("next window: %d", n)
	}
	// The previous window is still counted where asked.
	n, err = st.Hit(ctx, "ip:1", t0.Add(59*time.Second), w)
	must(t, err)
	if n != 4 {
		t.Errorf("back in the first window: %d", n)
	}
	// Another window length is another count.
	n, err = st.Hit(ctx, "ip:1", at, time.Hour)
	must(t, err)
	if n != 1 {
		t.Errorf("hour window: %d", n)
	}
	// Concurrent hits are all counted.
	var wg sync.WaitGroup
	const N = 40
	counts := make([]int, N)
	for i := range N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := st.Hit(ctx, "burst", at, w)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("concurrent counts %v", counts)
		}
	}
	// Many windows later (old ones may be purged meanwhile), counting goes on.
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 55 {
				if _, err := st.Hit(ctx, fmt.Sprint("sweep", g), t0.Add(time.Duration(i)*w), w); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n, err = st.Hit(ctx, "burst", t0.Add(2000*w), w)
	must(t, err)
	if n != 1 {
		t.Errorf("after the sweep: %d", n)
	}
}
