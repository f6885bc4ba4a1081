package admit

import (
	"context"
	"strings"
)

// PretixdroidKeySpec describes a pretixdroid app configuration to create:
// a key bound to one event and one check-in list.
type PretixdroidKeySpec struct {
	Organizer string // slug
	Event     string // slug
	List      string // name; "" is the event's default list
	// Subevent names a date of an event series ("" for none). On a list
	// bound to a date it must be the list's; on a list for every date it
	// only chooses the date put into the setup's URL (the URL's date
	// selects the date of each request, as in pretix).
	Subevent string
	NoSearch bool   // only a secret prefix may be searched
	Name     string // a label for the key; "" makes one
	// RequireDate refuses (EInvalid) a key whose setup URL would name no
	// date on an event series whose list has none: an app set up with it
	// is refused until its URL names a date.
	RequireDate bool
}

// PretixdroidKey is a created pretixdroid key with the scope it resolved.
type PretixdroidKey struct {
	Key       *APIKey
	Plain     string // the key itself, shown once
	Organizer *Organizer
	Event     *Event
	List      *CheckinList
	Subevent  *Subevent // the date the key's setup URL names; nil for none
}

// CreatePretixdroidKey resolves the spec's names and stores a new
// pretixdroid key. The key's ListID is always set (the default list when
// spec.List is empty). For an event series, a list bound to a date fixes
// the key's date (spec.Subevent, if given, must be it); a list for every
// date takes the date from each request's URL, and spec.Subevent, if
// given, is the date of the setup's URL (kept as the key's SubeventID,
// which scopes nothing).
func (c *Core) CreatePretixdroidKey(ctx context.Context, spec PretixdroidKeySpec) (*PretixdroidKey, error) {
	org, err := c.Store.OrganizerBySlug(ctx, spec.Organizer)
	if err != nil {
		if IsNotFound(err) {
			return nil, Errorf(ENotFound, "unknown organizer %q", spec.Organizer)
		}
		return nil, err
	}
	ev, err := c.Store.EventBySlug(ctx, org.ID, spec.Event)
	if err != nil {
		if IsNotFound(err) {
			return nil, Errorf(ENotFound, "unknown event %q of organizer %q", spec.Event, spec.Organizer)
		}
		return nil, err
	}
	var l *CheckinList
	if spec.List != "" {
		l, err = c.ListByName(ctx, ev.ID, spec.List)
	} else {
		l, err = c.Store.DefaultList(ctx, ev.ID)
	}
	if err != nil {
		return nil, err
	}
	subs, err := c.Store.Subevents(ctx, ev.ID)
	if err != nil {
		return nil, err
	}
	var sub *Subevent
	if spec.Subevent != "" {
		if len(subs) == 0 {
			return nil, Errorf(EInvalid, "event %q has no subevents (dates)", ev.Slug)
		}
		for _, s := range subs {
			if s.Name == spec.Subevent {
				sub = s
				break
			}
		}
		if sub == nil {
			return nil, Errorf(ENotFound, "unknown subevent %q of event %q", spec.Subevent, ev.Slug)
		}
		if l.SubeventID != 0 && l.SubeventID != sub.ID {
			return nil, Errorf(EInvalid, "check-in list %q is bound to another date than %q", l.Name, sub.Name)
		}
	} else if len(subs) > 0 && l.SubeventID == 0 && spec.RequireDate {
		return nil, Errorf(EInvalid, "event %q is an event series: give a subevent, or a check-in list bound to a date", ev.Slug)
	}
	name := strings.TrimSpace(spec.Name)
	if name == "" {
		name = "pretixdroid: " + l.Name
		if sub != nil {
			name += " (" + sub.Name + ")"
		}
	}
	k := &APIKey{
		Kind: KeyPretixdroid, Name: name,
		OrganizerID: org.ID, EventID: ev.ID, ListID: l.ID,
		AllowSearch: !spec.NoSearch, ShowInfo: true,
	}
	if sub != nil {
		k.SubeventID = sub.ID
	}
	plain, err := c.CreateKey(ctx, k)
	if err != nil {
		return nil, err
	}
	return &PretixdroidKey{Key: k, Plain: plain, Organizer: org, Event: ev, List: l, Subevent: sub}, nil
}
