package admit

import "time"

// LiveScan is one recorded scan as live subscribers (the API's SSE stream,
// the dashboard) see it: flat, self-contained, small enough to cross nodes
// in one PostgreSQL NOTIFY.
type LiveScan struct {
	ID           int64      `json:"id"`
	EventID      int64      `json:"event_id"`
	EventUUID    string     `json:"event_uuid"`
	TicketUUID   string     `json:"ticket_uuid,omitempty"`
	AttendeeName string     `json:"attendee_name,omitempty"`
	ProductName  string     `json:"product,omitempty"`
	ListID       int64      `json:"list_id,omitempty"`
	ListName     string     `json:"list,omitempty"`
	SectionName  string     `json:"section,omitempty"`
	DeviceUUID   string     `json:"device_uuid,omitempty"`
	DeviceName   string     `json:"device,omitempty"`
	Source       string     `json:"source"`
	Type         ScanType   `json:"type"`
	Result       Reason     `json:"result"`
	Forced       bool       `json:"forced"`
	Offline      bool       `json:"offline,omitempty"`
	Conflict     Conflict   `json:"conflict,omitempty"`
	DeviceTime   *time.Time `json:"device_time,omitempty"`
	ServerTime   time.Time  `json:"server_time"`
}

// Live carries what the core recorded to live subscribers on every node.
// The core publishes every scan it recorded (not dry runs, not replays);
// one node's hub fans out to its subscribers, and a multi-node
// implementation (PostgreSQL LISTEN/NOTIFY) carries scans between nodes.
type Live interface {
	// Publish hands a recorded scan to every subscriber of its event, on
	// every node. It never blocks on a subscriber and never fails a scan.
	Publish(s *LiveScan)
	// Subscribe returns a channel of the event's scans recorded from now
	// on, on any node, and a function that ends the subscription. A
	// subscriber that does not keep up is dropped: its channel is closed.
	Subscribe(eventID int64) (<-chan *LiveScan, func())
}
