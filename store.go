package admit

import (
	"context"
	"time"
)

// Store is everything the core needs of a database. Implementations
// translate driver errors at their boundary: no rows → ENotFound, unique
// violations → EConflict, anything else → EInternal. One conformance suite
// (sqlstore/storetest) runs against every implementation.
type Store interface {
	// Import applies a validated import file in one transaction: all or
	// nothing. See ImportFile for the semantics.
	// It returns every ticket of the file: for small files (tests, tools).
	Import(ctx context.Context, f *ImportFile, opts ImportOptions) (*ImportResult, error)
	// ImportStream applies an import read from src as it goes, in one
	// transaction, all or nothing, in memory bounded by a chunk of orders
	// whatever the file's size. It finds what src cannot: an order code,
	// ticket uuid, secret or serial used twice in the file. It calls
	// opts.Placed with the ids of the file's tickets, in the file's order.
	ImportStream(ctx context.Context, src ImportSource, opts ImportOptions) (*ImportSummary, error)
	// TicketsByID reads tickets with their related fields, in the order of
	// ids (ids not found are left out).
	TicketsByID(ctx context.Context, ids []int64) ([]*Ticket, error)

	Organizer(ctx context.Context, id int64) (*Organizer, error)
	OrganizerBySlug(ctx context.Context, slug string) (*Organizer, error)

	Event(ctx context.Context, id int64) (*Event, error)
	EventByUUID(ctx context.Context, uuid string) (*Event, error)
	EventBySlug(ctx context.Context, organizerID int64, slug string) (*Event, error)
	// Events lists an organizer's events, oldest first.
	Events(ctx context.Context, organizerID int64) ([]*Event, error)

	// CatalogVersion is a counter that every Import and ArchiveDevice
	// moves on: events, check-in lists and devices read at one version stay
	// valid while it stays.
	CatalogVersion(ctx context.Context) (int64, error)

	Subevents(ctx context.Context, eventID int64) ([]*Subevent, error)
	Sections(ctx context.Context, eventID int64) ([]*Section, error)
	// Products lists an event's products with their variations, in import order.
	Products(ctx context.Context, eventID int64) ([]*Product, error)
	Lists(ctx context.Context, eventID int64) ([]*CheckinList, error)
	List(ctx context.Context, id int64) (*CheckinList, error)
	// DefaultList returns the event's default list; every imported event has one.
	DefaultList(ctx context.Context, eventID int64) (*CheckinList, error)

	// Ticket lookups, with the related fields filled in, OrderTickets and
	// CatalogVersion too.
	TicketByUUID(ctx context.Context, uuid string) (*Ticket, error)
	TicketBySecret(ctx context.Context, eventID int64, secret string) (*Ticket, error)
	TicketBySerial(ctx context.Context, eventID int64, serial string) (*Ticket, error)
	// EventTickets calls fn for every ticket of an event, with the related
	// fields and OrderTickets as the lookups fill them, all read at one
	// state of the database, and returns the versions of that state (its
	// CatalogVersion set in each ticket too) and the count of the event's
	// tickets. If there are more than max (max > 0), fn is not called.
	EventTickets(ctx context.Context, eventID, max int64, fn func(*Ticket) error) (TicketsAt, error)
	// TicketsVersion is a counter that moves with every change of a ticket
	// or an order: every Import, and SetTicketBlocked (which leaves the
	// CatalogVersion, so that offline snapshots stay deltas).
	TicketsVersion(ctx context.Context) (int64, error)
	// Addons lists the add-on positions of a ticket.
	Addons(ctx context.Context, parentID int64) ([]*Ticket, error)
	// FindTickets lists the tickets that match f, and their total count when
	// f.Count is set.
	FindTickets(ctx context.Context, f TicketFilter) ([]*Ticket, int, error)
	// TicketCounts counts the tickets that match f per product and variation,
	// and how many of them have entered on list listID.
	TicketCounts(ctx context.Context, f TicketFilter, listID int64) ([]TicketCount, error)

	CheckinState(ctx context.Context, ticketID, listID int64) (*CheckinState, error)
	// Scan appends a to the scan log and, when a.Admit is set, records the
	// check-in atomically: under any concurrency, across processes sharing
	// the database, an entry is recorded only where a.Policy admits it (or
	// a.Force). A nonce already recorded as a successful scan of the ticket
	// on the list is answered ReasonOK with Replayed set, and nothing written.
	// A success is returned only after it is durable.
	Scan(ctx context.Context, a *ScanAttempt) (*ScanOutcome, error)
	// Scans lists scan log rows that match f, newest last, with their total.
	Scans(ctx context.Context, f ScanFilter) ([]*Scan, int, error)
	// LatestLogCheckpoint returns the scan log's latest signed checkpoint
	// (ENotFound before the first).
	LatestLogCheckpoint(ctx context.Context) (*LogCheckpoint, error)
	// ScanLeaves returns the leaf index in the scan log's tree of each of
	// the scans ids that is in the tree (not those not appended yet).
	ScanLeaves(ctx context.Context, ids []int64) (map[int64]int64, error)
	// ProveScanAt proves that scan scanID is a leaf of the tree of the
	// stored checkpoint of size treeSize (0: the latest); ENotFound if the
	// scan, or that checkpoint, is not there, or the scan not under it.
	ProveScanAt(ctx context.Context, scanID, treeSize int64) (*LogProof, error)
	// Conflicts lists an event's offline scans in conflict with the
	// server, ordered by ticket uuid, device time, device name and id, at
	// most limit, with their total; each with the scan before it that
	// admitted its ticket on its list, for "already inside".
	Conflicts(ctx context.Context, eventID int64, limit int) ([]*ConflictReport, int, error)

	// For offline snapshots: OfflineTickets calls fn for every ticket of
	// the event, or only those updated at or after since; ListStates for
	// every ticket with a state on the list (afterScanID < 0), or only
	// those with an admitted scan (entry or exit) on it after that scan id;
	// SettledScanID is the highest id of the list's scans logged before t
	// (0: none).
	OfflineTickets(ctx context.Context, eventID int64, since *time.Time, fn func(*OfflineTicket) error) error
	ListStates(ctx context.Context, listID, afterScanID int64, fn func(ListState) error) error
	SettledScanID(ctx context.Context, listID int64, before time.Time) (int64, error)
	// Occupancy counts an event's entries, exits and tickets inside per
	// list and per section, from the check-in states (not the scan log),
	// with each area's capacity and how many tickets could enter it.
	Occupancy(ctx context.Context, eventID int64) (*Occupancy, error)

	CreateDevice(ctx context.Context, d *Device, pairingHash []byte) error
	Device(ctx context.Context, id int64) (*Device, error)
	DeviceByUUID(ctx context.Context, uuid string) (*Device, error)
	// PairDevice consumes a pairing token exactly once: it finds the
	// unarchived device whose token hash is pairingHash and whose token has
	// not expired at now, clears the token, marks the device claimed and
	// stores key (its DeviceID set by the store). When organizerID is not
	// 0 the device must be that organizer's. Unknown, used, expired or of
	// another organizer: ENotFound, and the token is left as it was.
	PairDevice(ctx context.Context, pairingHash []byte, organizerID int64, now time.Time, key *APIKey) (*Device, error)
	ArchiveDevice(ctx context.Context, uuid string) (*Device, error)
	// Devices lists an organizer's devices, archived ones too, oldest first.
	Devices(ctx context.Context, organizerID int64) ([]*Device, error)
	// DeviceActivity counts, per device, the scans of an event in the log.
	DeviceActivity(ctx context.Context, eventID int64) ([]DeviceActivity, error)

	// SetTicketBlocked blocks or unblocks a ticket and returns it as it is
	// now (ENotFound for an unknown id).
	SetTicketBlocked(ctx context.Context, ticketID int64, blocked bool, at time.Time) (*Ticket, error)

	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByPrefix finds an unrevoked key; the caller compares the hash.
	APIKeyByPrefix(ctx context.Context, prefix string) (*APIKey, error)
	// RevokeTokenKeys revokes every staff key of an admission token.
	RevokeTokenKeys(ctx context.Context, tokenID int64) error

	// Admission tokens (TickeTing). Their codes are credentials: the store
	// keeps a keyed hash of each (TokenByCode finds a token by its code),
	// never the code, and reads never fill AdmissionToken.Code. CreateToken
	// sets ID and CreatedAt; a token created without a code has none until
	// RevealTokenCode gives it one.
	CreateToken(ctx context.Context, t *AdmissionToken) error
	// RevealTokenCode gives a token of the event that has no code yet the
	// given code, and reports whether it did (false: the token has one, or
	// another call gave it first). A code already taken: EConflict.
	RevealTokenCode(ctx context.Context, eventID, id int64, code string) (bool, error)
	Token(ctx context.Context, eventID, id int64) (*AdmissionToken, error)
	TokenByCode(ctx context.Context, code string) (*AdmissionToken, error)
	// Tokens lists an event's tokens, the global one first, then in issue
	// order; global filters when non-nil.
	Tokens(ctx context.Context, eventID int64, global *bool, limit, offset int) ([]*AdmissionToken, int, error)
	UpdateTokenSections(ctx context.Context, eventID, id int64, sectionIDs []int64) (*AdmissionToken, error)
	// DeleteToken deletes a token and revokes its staff keys in one transaction.
	DeleteToken(ctx context.Context, eventID, id int64) error

	// Hit counts one hit on key in the fixed window that contains now and
	// returns the window's count so far, this hit included. Shared by every
	// node on the database.
	Hit(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)

	// The web pages' sign-in links and sessions (session.go).
	SessionStore

	Close() error
}

// ImportOptions carries what the core prepares for an import.
type ImportOptions struct {
	// NewKeys is the key pair for the event if the import creates it (and
	// the file has no public_key_pem); an existing event keeps its keys.
	NewKeys *KeyPair
	// Sign returns the QR content of a new ticket of the event; nil for an
	// event that only verifies codes issued elsewhere. Existing tickets keep
	// their stored QR content.
	Sign func(ev *Event, ticketUUID string) (string, error)
	Now  time.Time
	// Placed, when set, is called with the ids of the file's tickets, in
	// the file's order (add-ons right after their parent), a chunk at a
	// time, as they are written (before the commit).
	Placed func(ids []int64) error
}

// ImportSummary is what a streamed import did.
type ImportSummary struct {
	Organizer *Organizer
	Event     *Event
	Subevents []*Subevent // the file's, in its order
	// Orders and Tickets count the file's (add-ons included); Created the
	// tickets the import created, Updated the stored ones it changed.
	Orders, Tickets, Created, Updated int
	// ReadTime is the time spent reading and checking the file, within
	// the import.
	ReadTime time.Duration
}

// ImportResult is what an import made or found.
type ImportResult struct {
	Organizer *Organizer
	Event     *Event
	Subevents []*Subevent
	Tickets   []*Ticket // in file order, add-ons right after their parent
	// Created counts the tickets the import created, Updated the stored
	// ones it changed (the others were already as the file says).
	Created, Updated int
}

// LogCheckpoint is a signed checkpoint of the scan log's Merkle tree: Note
// is the signed note (golang.org/x/mod/sumdb/note) of the tree's size and
// root hash, Size its size, VerifierKey the public key that checks it.
type LogCheckpoint struct {
	Note        string
	Size        int64
	VerifierKey string
}

// LogProof proves that scan ScanID (of event EventID) is leaf Leaf of the
// tree of Checkpoint: golang.org/x/mod/sumdb/tlog.CheckRecord(Proof,
// TreeSize, RootHash, Leaf, tlog.RecordHash(Record)). Hashes are 32 bytes.
type LogProof struct {
	ScanID, EventID int64
	Leaf            int64
	Record          string
	TreeSize        int64
	RootHash        []byte
	Proof           [][]byte
	Checkpoint      string
	VerifierKey     string
}

// TicketFilter selects tickets. Zero fields do not filter.
type TicketFilter struct {
	EventID int64
	// Restrict to what a list covers: its products, sections and date.
	List *CheckinList
	// Restrict to these sections (TickeTing staff tokens).
	SectionIDs []int64
	SubeventID int64
	// Admissible keeps tickets that could be admitted: not canceled, not
	// blocked, paid (or pending when IncludePending).
	Admissible     bool
	IncludePending bool
	// PaidOnly keeps tickets of paid orders.
	PaidOnly      bool
	ModifiedSince *time.Time
	// Search matches Query against the fields chosen in Fields (OR).
	Query  string
	Fields SearchFields
	// StateListID fills Ticket.State from this list.
	StateListID int64
	OrderBy     TicketOrder
	Desc        bool
	Limit       int // 0: no limit
	Offset      int
	Count       bool
}

// SearchFields chooses what a search query matches.
type SearchFields uint

const (
	SearchName            SearchFields = 1 << iota // attendee first/last/full name contains (case-insensitive)
	SearchEmail                                    // email contains
	SearchOrderCodePrefix                          // order code starts with
	SearchSecretPrefix                             // secret starts with
	SearchUUIDPrefix                               // ticket uuid starts with
	SearchOrderUUIDPrefix                          // order uuid starts with
	SearchProduct                                  // product name contains
	SearchPrice                                    // price label contains
)

// TicketOrder names a sort key for FindTickets.
type TicketOrder string

const (
	OrderByID        TicketOrder = ""           // import order
	OrderByOrderTime TicketOrder = "order_time" // the order's creation, then id
	OrderByLastName  TicketOrder = "last_name"
	OrderByFirstName TicketOrder = "first_name"
	OrderByUUID      TicketOrder = "uuid"
	OrderByStatus    TicketOrder = "status"
	OrderByOrderUUID TicketOrder = "order_uuid"
)

// TicketCount is a count of tickets per product and variation.
type TicketCount struct {
	ProductID   int64
	VariationID int64 // 0: none
	Total       int
	Checkins    int // tickets that have entered on the list
}

// ScanAttempt is one scan for the store to record.
type ScanAttempt struct {
	// Scan is the log row; Result is the core's decision so far.
	Scan   Scan
	Admit  bool // the decision says ReasonOK: record the entry (or exit) atomically
	Policy ListPolicy
	Force  bool // record the entry even if Policy or a capacity refuses it (marked forced)
	// LenientExit records an exit of a ticket that is not inside (pretix
	// does); else such an exit is refused with ReasonNotInside.
	LenientExit bool
	// The areas with a capacity the scan enters or leaves, as the core's
	// catalog says: ListLimited, the list (Scan.ListID); SectionLimited,
	// the ticket's section SectionID. An entry that takes a place (from
	// outside to inside) claims one in each, atomically with the check-in,
	// or is refused with ReasonCapacity; an exit gives them back. Areas
	// without a capacity cost the scan nothing.
	ListLimited    bool
	SectionLimited bool
	SectionID      int64
	// DeviceUUID is Scan.DeviceID's uuid, the first device of a new entry;
	// when empty the store looks it up.
	DeviceUUID string
	// TicketsVersion, when not 0, is the Store.TicketsVersion of the
	// ticket the scan was judged on without reading it (from the core's
	// ticket cache): if it has moved on since, the store writes nothing and
	// answers Stale, and the core judges the scan again from the store.
	TicketsVersion int64
}

// TicketsAt are the versions a set of tickets was read at.
type TicketsAt struct {
	Catalog, Tickets int64
	Count            int64 // the tickets there are
}

// ScanOutcome is what the store recorded.
type ScanOutcome struct {
	Result   Reason // ReasonOK, ReasonAlreadyRedeemed, ReasonCapacity, ReasonNotInside, or the attempt's own
	Forced   bool
	Replayed bool          // the nonce was already recorded: nothing written
	Conflict Conflict      // an offline scan's, as recorded (the first time, for a replay)
	State    *CheckinState // the state after the scan (nil if no ticket)
	ScanID   int64
	Stale    bool // ScanAttempt.TicketsVersion is no longer the store's: nothing written
}

// ScanFilter selects scan log rows.
type ScanFilter struct {
	EventID      int64
	ListID       int64
	TicketID     int64
	Result       Reason // "" any
	Refused      bool   // only refusals (any result but ok)
	Type         ScanType
	Redeemer     string
	DeviceName   string
	HolderNumber string
	SectionIDs   []int64 // the ticket's section
	DeviceID     int64
	AfterID      int64      // rows after this id (a cursor)
	Since, Until *time.Time // server time, Since inclusive, Until exclusive
	Limit        int
	Offset       int
	// NoTotal skips counting every matching row (a cursor page does not
	// need it): the total returned is then the rows returned.
	NoTotal bool
}

// DeviceActivity is what the scan log says of one device at one event.
type DeviceActivity struct {
	DeviceID int64
	LastSeen time.Time
	Scans    int
	Refusals int
}
