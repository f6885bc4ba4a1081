package admit

import (
	"context"
	"sync"
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
// Cached values are shared: callers must not modify them.
type catalog struct {
	mu       sync.Mutex
	version  int64
	valid    bool
	events   map[int64]*Event
	byUUID   map[string]*Event
	orgs     map[int64][]*Event
	lists    map[int64]*CheckinList
	defaults map[int64]*CheckinList
	devices  map[string]deviceAuth // by API key prefix
}

// deviceAuth is a device's key and the device, as stored.
type deviceAuth struct {
	key    *APIKey
	device *Device
}

// catalogView is the catalog at the version one scan read.
type catalogView struct {
	c       *catalog
	store   Store
	version int64
}

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
	cat := &c.catalog
	cat.mu.Lock()
	valid, v := cat.valid, cat.version
	cat.mu.Unlock()
	if !valid {
		return c.view(ctx)
	}
	return &catalogView{c: cat, store: c.Store, version: v}, nil
}

// viewAt returns a view at version v, which was read from the store: the
// cache starts afresh if it was at another.
func (c *Core) viewAt(v int64) *catalogView {
	cat := &c.catalog
	cat.mu.Lock()
	if !cat.valid || cat.version != v {
		cat.version, cat.valid = v, true
		cat.events, cat.byUUID, cat.orgs = map[int64]*Event{}, map[string]*Event{}, map[int64][]*Event{}
		cat.lists, cat.defaults = map[int64]*CheckinList{}, map[int64]*CheckinList{}
		cat.devices = map[string]deviceAuth{}
	}
	cat.mu.Unlock()
	return &catalogView{c: cat, store: c.Store, version: v}
}

// cached returns m[k] if the catalog is still at the view's version, else
// loads it and stores it if the catalog still is.
func cached[K comparable, V any](cv *catalogView, m func(*catalog) map[K]V, k K, load func() (V, error)) (V, error) {
	cv.c.mu.Lock()
	if cv.c.version == cv.version {
		if v, ok := m(cv.c)[k]; ok {
			cv.c.mu.Unlock()
			return v, nil
		}
	}
	cv.c.mu.Unlock()
	v, err := load()
	if err != nil {
		return v, err
	}
	cv.c.mu.Lock()
	if cv.c.version == cv.version {
		m(cv.c)[k] = v
	}
	cv.c.mu.Unlock()
	return v, nil
}

func (cv *catalogView) event(ctx context.Context, id int64) (*Event, error) {
	return cached(cv, func(c *catalog) map[int64]*Event { return c.events }, id,
		func() (*Event, error) { return cv.store.Event(ctx, id) })
}

func (cv *catalogView) eventByUUID(ctx context.Context, uuid string) (*Event, error) {
	return cached(cv, func(c *catalog) map[string]*Event { return c.byUUID }, uuid,
		func() (*Event, error) { return cv.store.EventByUUID(ctx, uuid) })
}

func (cv *catalogView) events(ctx context.Context, organizerID int64) ([]*Event, error) {
	return cached(cv, func(c *catalog) map[int64][]*Event { return c.orgs }, organizerID,
		func() ([]*Event, error) { return cv.store.Events(ctx, organizerID) })
}

func (cv *catalogView) list(ctx context.Context, id int64) (*CheckinList, error) {
	return cached(cv, func(c *catalog) map[int64]*CheckinList { return c.lists }, id,
		func() (*CheckinList, error) { return cv.store.List(ctx, id) })
}

func (cv *catalogView) defaultList(ctx context.Context, eventID int64) (*CheckinList, error) {
	return cached(cv, func(c *catalog) map[int64]*CheckinList { return c.defaults }, eventID,
		func() (*CheckinList, error) { return cv.store.DefaultList(ctx, eventID) })
}

// deviceByPrefix returns a device key and its device; an unknown prefix is
// not cached (a pairing may make it known at any time).
func (cv *catalogView) deviceByPrefix(ctx context.Context, prefix string) (deviceAuth, error) {
	return cached(cv, func(c *catalog) map[string]deviceAuth { return c.devices }, prefix,
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
