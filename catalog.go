package admit

import (
	"context"
	"sync"
	"sync/atomic"
)

// catalog caches what every scan reads and only an import (or archiving a
// device) changes: events (with their keys), check-in lists, and paired
// devices with their keys. Entries are valid for one
// Store.CatalogVersion; the cache starts afresh when a version read from
// the store differs, so an import on any node applies from the next scan on
// every node. A scan learns the version with its ticket (Core.Redeem); other
// callers read it (one small query). What a scan must see at once and is not
// versioned (tickets, orders, other kinds of keys) is never cached.
//
// Cached values are shared: callers must not modify them. Reads take no
// lock: the catalog of one version is a set of sync.Maps, replaced whole
// when the version moves.
type catalog struct {
	cur atomic.Pointer[catalogAt]
	// Lookups answered from the cache, and loaded from the store.
	hits, misses atomic.Int64
}

// catalogAt is the catalog of one version.
type catalogAt struct {
	version  int64
	events   sync.Map // int64 → *Event
	byUUID   sync.Map // string → *Event
	orgs     sync.Map // int64 → []*Event
	lists    sync.Map // int64 → *CheckinList
	defaults sync.Map // int64 → *CheckinList
	limited  sync.Map // event id → map[int64]bool: its sections with a capacity
	devices  sync.Map // API key prefix → deviceAuth
	slugs    sync.Map // organizer slug → *Organizer
}

// deviceAuth is a device's key and the device, as stored.
type deviceAuth struct {
	key    *APIKey
	device *Device
}

// catalogView is the catalog at the version one scan read.
type catalogView struct {
	c     *catalog
	at    *catalogAt
	store Store
}

// version is the catalog version the view is at.
func (cv *catalogView) version() int64 { return cv.at.version }

// view reads the catalog version and returns a view at it.
func (c *Core) view(ctx context.Context) (*catalogView, error) {
	v, err := c.Store.CatalogVersion(ctx)
	if err != nil {
		return nil, err
	}
	return c.viewAt(v), nil
}

// lastView returns a view at the last version seen, without a query; the
// caller must check it against a version read afterwards (Redeem checks
// it against the version its ticket was read at).
func (c *Core) lastView(ctx context.Context) (*catalogView, error) {
	at := c.catalog.cur.Load()
	if at == nil {
		return c.view(ctx)
	}
	return &catalogView{c: &c.catalog, at: at, store: c.Store}, nil
}

// viewAt returns a view at version v, which was read from the store: the
// cache starts afresh if it was at another.
func (c *Core) viewAt(v int64) *catalogView {
	for {
		cur := c.catalog.cur.Load()
		if cur != nil && cur.version == v {
			return &catalogView{c: &c.catalog, at: cur, store: c.Store}
		}
		at := &catalogAt{version: v}
		if c.catalog.cur.CompareAndSwap(cur, at) {
			return &catalogView{c: &c.catalog, at: at, store: c.Store}
		}
	}
}

// cached returns the entry k of the view's catalog, else loads it and keeps
// it while that catalog is the current one.
func cached[K comparable, V any](cv *catalogView, m func(*catalogAt) *sync.Map, k K, load func() (V, error)) (V, error) {
	mp := m(cv.at)
	if v, ok := mp.Load(k); ok {
		cv.c.hits.Add(1)
		return v.(V), nil
	}
	cv.c.misses.Add(1)
	v, err := load()
	if err != nil {
		return v, err
	}
	if cv.c.cur.Load() == cv.at {
		mp.Store(k, v)
	}
	return v, nil
}

func (cv *catalogView) event(ctx context.Context, id int64) (*Event, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.events }, id,
		func() (*Event, error) { return cv.store.Event(ctx, id) })
}

func (cv *catalogView) eventByUUID(ctx context.Context, uuid string) (*Event, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.byUUID }, uuid,
		func() (*Event, error) { return cv.store.EventByUUID(ctx, uuid) })
}

func (cv *catalogView) events(ctx context.Context, organizerID int64) ([]*Event, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.orgs }, organizerID,
		func() ([]*Event, error) { return cv.store.Events(ctx, organizerID) })
}

func (cv *catalogView) organizerBySlug(ctx context.Context, slug string) (*Organizer, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.slugs }, slug,
		func() (*Organizer, error) { return cv.store.OrganizerBySlug(ctx, slug) })
}

func (cv *catalogView) list(ctx context.Context, id int64) (*CheckinList, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.lists }, id,
		func() (*CheckinList, error) { return cv.store.List(ctx, id) })
}

func (cv *catalogView) defaultList(ctx context.Context, eventID int64) (*CheckinList, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.defaults }, eventID,
		func() (*CheckinList, error) { return cv.store.DefaultList(ctx, eventID) })
}

// limitedSections returns the event's sections that have a capacity.
func (cv *catalogView) limitedSections(ctx context.Context, eventID int64) (map[int64]bool, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.limited }, eventID,
		func() (map[int64]bool, error) {
			secs, err := cv.store.Sections(ctx, eventID)
			if err != nil {
				return nil, err
			}
			m := map[int64]bool{}
			for _, s := range secs {
				if s.Capacity != nil {
					m[s.ID] = true
				}
			}
			return m, nil
		})
}

// deviceByPrefix returns a device key and its device; an unknown prefix is
// not cached (a pairing may make it known at any time).
func (cv *catalogView) deviceByPrefix(ctx context.Context, prefix string) (deviceAuth, error) {
	return cached(cv, func(c *catalogAt) *sync.Map { return &c.devices }, prefix,
		func() (deviceAuth, error) {
			k, err := cv.store.APIKeyByPrefix(ctx, prefix)
			if err != nil {
				return deviceAuth{}, err
			}
			if k.Kind != KeyDevice {
				return deviceAuth{key: k}, nil
			}
			d, err := cv.store.Device(ctx, k.DeviceID)
			if err != nil {
				return deviceAuth{}, err
			}
			return deviceAuth{key: k, device: d}, nil
		})
}
