package pretixdroid

import (
	"net/url"
	"strconv"

	"github.com/admitdev/admit"
)

// Setup is what the app's setup QR code holds: the API base URL (ending in
// /pretixdroid/api/ORG/EVENT/ and, for a key made for a date, its id), the
// key, and what the app may show.
type Setup struct {
	Version     int    `json:"version"`
	URL         string `json:"url"`
	Key         string `json:"key"`
	AllowSearch bool   `json:"allow_search"`
	ShowInfo    bool   `json:"show_info"`
}

// BaseURL is the API base of an event (and date, if subeventID is not 0) on
// a server reached at publicURL (no trailing slash).
func BaseURL(publicURL, organizer, event string, subeventID int64) string {
	u := publicURL + "/pretixdroid/api/" + url.PathEscape(organizer) + "/" + url.PathEscape(event) + "/"
	if subeventID != 0 {
		u += strconv.FormatInt(subeventID, 10) + "/"
	}
	return u
}

// SetupFor returns the setup of a created key.
func SetupFor(publicURL string, k *admit.PretixdroidKey) Setup {
	var sub int64
	if k.Subevent != nil {
		sub = k.Subevent.ID
	}
	return Setup{
		Version:     APIVersion,
		URL:         BaseURL(publicURL, k.Organizer.Slug, k.Event.Slug, sub),
		Key:         k.Plain,
		AllowSearch: k.Key.AllowSearch,
		ShowInfo:    k.Key.ShowInfo,
	}
}
