package admit

import (
	"slices"
	"time"
)

// Organizer is a tenant: it owns events, devices and keys.
type Organizer struct {
	ID     int64
	Slug   string
	Name   string
	Domain string
}

// Signing algorithms of an event's QR codes.
const (
	SigningEd25519 = "ed25519"
	SigningRSAPSS  = "rsa-pss"
)

// Event is one event of an organizer, with its own signing key pair.
type Event struct {
	ID           int64
	UUID         string
	OrganizerID  int64
	Slug         string
	Name         string
	DateFrom     time.Time
	DateTo       time.Time
	Timezone     string
	Signing      string // SigningEd25519 or SigningRSAPSS
	PublicKeyPEM string // SubjectPublicKeyInfo PEM
	// PrivateKeyPEM is the PKCS#8 PEM of the private key; empty for an event
	// that only verifies codes issued by another server. Never leaves the server.
	PrivateKeyPEM string
	CreatedAt     time.Time
}

// Subevent is a date of an event series.
type Subevent struct {
	ID       int64
	EventID  int64
	Name     string
	DateFrom time.Time
	DateTo   time.Time
}

// Section is an area of the venue.
type Section struct {
	ID          int64
	EventID     int64
	Name        string
	Description string
	Position    int
	// Capacity is how many of its tickets may be inside at once, counted
	// over every list of its event (a ticket inside on two lists counts
	// twice); nil: no limit.
	Capacity *int
}

// Product is something sold for an event; Admission says whether it admits.
type Product struct {
	ID         int64
	EventID    int64
	Name       string
	Admission  bool
	Position   int
	Variations []Variation
}

// Variation is a variant of a product (size, colour).
type Variation struct {
	ID        int64
	ProductID int64
	Name      string
	Position  int
}

// OrderStatus is the payment state of an order.
type OrderStatus string

const (
	OrderPaid     OrderStatus = "paid"
	OrderPending  OrderStatus = "pending"
	OrderCanceled OrderStatus = "canceled"
)

// Valid reports whether s is a known status.
func (s OrderStatus) Valid() bool {
	return s == OrderPaid || s == OrderPending || s == OrderCanceled
}

// Order is a reservation holding tickets.
type Order struct {
	ID        int64
	EventID   int64
	Code      string
	UUID      string
	Status    OrderStatus
	Email     string
	Name      string
	CreatedAt time.Time
}

// Ticket is one admission position (or an add-on position, with ParentID set).
// The fields after UpdatedAt are read from related rows by the store.
type Ticket struct {
	ID           int64
	UUID         string
	Secret       string
	Serial       string
	EventID      int64
	OrderID      int64
	ProductID    int64
	VariationID  int64 // 0: none
	SubeventID   int64 // 0: none
	SectionID    int64 // 0: none
	ParentID     int64 // 0: not an add-on
	Position     int   // place within its order, for re-imports
	Price        string
	FirstName    string
	LastName     string
	Email        string
	HolderNumber string // stable account number of the holder's email
	ValidFrom    *time.Time
	ValidUntil   *time.Time
	Blocked      bool
	QRCode       string // the signed QR content; empty for events that only verify
	CreatedAt    time.Time
	UpdatedAt    time.Time

	OrderCode          string
	OrderUUID          string
	OrderStatus        OrderStatus
	OrderEmail         string
	OrderName          string
	OrderCreatedAt     time.Time
	ProductName        string
	ProductAdmission   bool
	VariationName      string
	SectionName        string
	SectionDescription string
	SubeventName       string

	// Set by the single-ticket lookups (TicketByUUID, BySecret, BySerial),
	// read in the same statement as the ticket: OrderTickets counts the
	// tickets of its order (add-ons included); CatalogVersion is the
	// Store.CatalogVersion the ticket was read at, which lets a scan check
	// its cached catalog without a query of its own.
	OrderTickets   int
	CatalogVersion int64

	// State is the ticket's check-in state on one list, where the query
	// asked for it (TicketFilter.StateListID); nil otherwise or if never scanned.
	State *CheckinState
}

// AttendeeName is the holder's full name.
func (t *Ticket) AttendeeName() string {
	switch {
	case t.FirstName == "":
		return t.LastName
	case t.LastName == "":
		return t.FirstName
	}
	return t.FirstName + " " + t.LastName
}

// HolderEmail is the ticket's email, else its order's.
func (t *Ticket) HolderEmail() string {
	if t.Email != "" {
		return t.Email
	}
	return t.OrderEmail
}

// CheckinList is an access scope inside an event. Empty ProductIDs or
// SectionIDs admit every product or section.
type CheckinList struct {
	ID                   int64
	UUID                 string
	EventID              int64
	Name                 string
	ProductIDs           []int64
	SectionIDs           []int64
	SubeventID           int64 // 0: every date
	AllowMultipleEntries bool
	AllowEntryAfterExit  bool
	IncludePending       bool
	IsDefault            bool
	Position             int
	// Capacity is how many tickets may be inside on the list at once; nil:
	// no limit.
	Capacity *int
}

// CoversProduct reports whether the list admits the ticket's product and section.
func (l *CheckinList) CoversProduct(t *Ticket) bool {
	if len(l.ProductIDs) > 0 && !slices.Contains(l.ProductIDs, t.ProductID) {
		return false
	}
	if len(l.SectionIDs) > 0 && !slices.Contains(l.SectionIDs, t.SectionID) {
		return false
	}
	return true
}

// CoversDate reports whether the ticket's date (subevent) is the list's.
func (l *CheckinList) CoversDate(t *Ticket) bool {
	return l.SubeventID == 0 || l.SubeventID == t.SubeventID
}

// CheckinState is a ticket's state on one list.
type CheckinState struct {
	TicketID        int64
	ListID          int64
	Inside          bool
	Entries         int
	Exits           int
	FirstAt         time.Time
	FirstDeviceUUID string // the device that admitted it first ("" if none)
	FirstDeviceName string
	LastAt          time.Time
}

// Device is a scanner of an organizer, optionally bound to an event and list.
type Device struct {
	ID             int64
	UUID           string
	OrganizerID    int64
	EventID        int64 // 0: every event of the organizer
	ListID         int64 // 0: the event's default list
	Name           string
	Claimed        bool
	Archived       bool
	PairingExpires time.Time
	CreatedAt      time.Time

	// check is how the device was authenticated (Core.AuthenticateScanner).
	check *deviceCheck
}

// KeyKind says what an API key authenticates.
type KeyKind string

const (
	KeyDevice      KeyKind = "device"      // a paired TiBillet scanner
	KeyPretixdroid KeyKind = "pretixdroid" // a pretix app configuration
	KeyManagement  KeyKind = "management"  // an organizer's management key
	KeyStaff       KeyKind = "staff"       // a TickeTing admission token's staff key
	// KeyScanner is an organizer's key with the scanner role on admit's own
	// API: it may scan, check, search and read occupancy, nothing more.
	KeyScanner KeyKind = "scanner"
)

// APIKey is a stored credential. The secret itself is never stored: only
// Prefix (to find the row) and Hash (SHA-256 of the whole key).
type APIKey struct {
	ID          int64
	Kind        KeyKind
	Prefix      string
	Hash        []byte
	Name        string
	OrganizerID int64
	EventID     int64 // 0: organizer-wide
	ListID      int64
	// SubeventID is, for a pretixdroid key, the date its setup URL names
	// (0: none). It scopes nothing: the date of a request is its list's,
	// else its URL's.
	SubeventID  int64
	DeviceID    int64
	TokenID     int64
	AllowSearch bool
	ShowInfo    bool
	CreatedAt   time.Time
	Revoked     bool
}

// AdmissionToken is a TickeTing admission token: staff log in with its code
// and may admit tickets of its sections. Each event has one global token.
type AdmissionToken struct {
	ID      int64
	EventID int64
	// Code is set only where the code is made: it is stored hashed and
	// never read back.
	Code   string
	Global bool
	// NoCode: the token was made without a code, which Core.ShowTokenCode
	// makes the first time the token is shown (the global token).
	NoCode     bool
	SectionIDs []int64
	CreatedAt  time.Time
}

// ScanType is the direction of a scan.
type ScanType string

const (
	ScanEntry ScanType = "entry"
	ScanExit  ScanType = "exit"
)

// Scan is one row of the append-only scan log: every attempt, admitted or not.
type Scan struct {
	ID         int64
	TicketID   int64 // 0: no ticket known
	EventID    int64 // 0: unknown
	ListID     int64 // 0: unknown
	DeviceID   int64 // 0: not a paired device
	DeviceName string
	Redeemer   string
	Source     string // the dialect: tibillet, pretixdroid, ticketing
	Type       ScanType
	Result     Reason
	Nonce      string
	DeviceTime *time.Time
	ServerTime time.Time
	Forced     bool
	// Offline: a scan the device decided on its own while it had no
	// network, uploaded later. DeviceVerdict is what the device showed (an
	// API reason, "ok" for an admission), ClockOffset the device's clock
	// error (server minus device) measured at its last sync: the scan
	// happened at DeviceTime + ClockOffset. Conflict is set when the device
	// and the server disagree.
	Offline       bool
	DeviceVerdict string
	ClockOffset   time.Duration
	Conflict      Conflict

	// Filled by Scans() from the ticket, for listings.
	Ticket *Ticket
}

// Conflict names how an offline scan's device and the server disagree.
type Conflict string

const (
	ConflictNone Conflict = ""
	// ConflictAlreadyInside: the device admitted a ticket the server
	// found already inside (another device got there first).
	ConflictAlreadyInside Conflict = "already_inside"
	// ConflictRefusedByServer: the device admitted a ticket the server
	// refuses for another reason (canceled meanwhile, blocked, full...).
	ConflictRefusedByServer Conflict = "refused_by_server"
	// ConflictAdmissible: the device refused a ticket the server would
	// have admitted.
	ConflictAdmissible Conflict = "admissible"
)

// AreaOccupancy counts the entries into one area (a check-in list, or a
// section over every list of its event) and who is inside now.
type AreaOccupancy struct {
	ID       int64
	UUID     string // lists only
	Name     string
	Entries  int  // recorded entries (forced ones included)
	Exits    int  // recorded exits
	Inside   int  // tickets inside now
	Capacity *int // nil: no limit
	Total    int  // tickets that could enter: admissible tickets the area covers
}

// Occupancy is an event's occupancy per list and per section.
type Occupancy struct {
	EventID  int64
	Lists    []AreaOccupancy
	Sections []AreaOccupancy
}
