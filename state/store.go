package state

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Store is a shop's order database. Two engines implement it and pass one
// contract test suite (state/storetest): BadgerStore, embedded, for a shop
// on one Caddy instance; and PostgreSQL (state/postgres), for a shop on
// several. Everything a shop keeps lives in it: orders with their history
// and operations, the outbox, the indexes, buyer details with their
// retention, the merchant's Idempotency-Keys, the webhook registration and
// the replay guard. Every write is durable before the call returns, but
// RecordCreated's (see there).
type Store interface {
	// Create stores a new order with its indexes and jobs; ErrExists if
	// the reference is taken.
	Create(o *Order, jobs ...Job) error
	// Get returns an order, or ErrNotFound.
	Get(ref string) (*Order, error)
	// Update is the transition function, the only way to change an order:
	// see Transition for the rules. Callers on one order, in any process
	// on the same database, are serialised; whoever comes second sees the
	// first one's result.
	Update(ref string, src Source, fn func(o *Order, tx *Tx) error) (*Order, bool, error)
	// RecordCreated records Vipps' answer to a stored order's create call
	// (see Order.ApplyCreated): every read after it returns shows it. It is
	// the one write that is not on disk before it returns: a power cut may
	// lose it (Badger holds it in memory until the order's next write
	// carries it, or writes it on its own after 30 s, when too many are
	// held, or at Close; PostgreSQL commits it without waiting for the
	// WAL flush). Nothing is lost with it: the
	// order was stored before the create was sent, the poller asks Vipps
	// for the payment, and the create sent again with the order's key
	// answers with the same address. It does not read the order, so it
	// may not tell an unknown reference (PostgreSQL says ErrNotFound;
	// Badger keeps an answer no order ever reads).
	RecordCreated(ref string, a CreateAnswer) error
	// List returns orders newest first; see ListFilter and the cursor
	// rules of the engines.
	List(cursor string, limit int, f ListFilter) ([]*Order, string, error)
	// ClaimChecks hands out up to max watched orders whose check at Vipps
	// is due (Order.Watched), each leased until now+lease so that no other
	// poller, here or on another instance, checks it meanwhile; an order
	// whose checker died is due again when the lease runs out.
	ClaimChecks(now time.Time, lease time.Duration, max int) ([]string, error)

	// Ledger returns the ledger's rows (see LedgerRow) of the hours from
	// from (inclusive) to to (exclusive), oldest first; hours that moved
	// nothing have no row. Each row was written in the same transaction as
	// the order changes it sums.
	Ledger(from, to time.Time) ([]LedgerRow, error)
	// Oldest returns up to limit orders of a backlog, oldest made first,
	// and how many orders the backlog holds. It reads an index of the
	// backlog, so its cost grows with the backlog, never with the orders
	// that are done.
	Oldest(b Backlog, limit int) ([]*Order, int, error)

	// PutBuyer stores buyer details that vanish after ttl; Buyer reads
	// them (ErrNotFound once expired or erased); EraseBuyer deletes them
	// at once (a buyer's request to be forgotten).
	PutBuyer(ref string, b Buyer, ttl time.Duration) error
	Buyer(ref string) (*Buyer, error)
	EraseBuyer(ref string) error

	// GetMeta and PutMeta keep the shop's settings (its identity, its
	// webhook registration and secret).
	GetMeta(key string) ([]byte, error)
	PutMeta(key string, v []byte) error

	// The outbox: jobs are claimed with a lease, so that two workers (on
	// one instance or several) never hold one job, and a job whose worker
	// died is claimed again when its lease runs out.
	ClaimJobs(now time.Time, lease time.Duration, max int) ([]Job, error)
	CompleteJob(j Job) error
	RetryJob(j Job, cause error, next time.Time) error
	DeadJob(j Job, cause error) error
	PendingJobs() ([]Job, error)
	DeadJobs() ([]Job, error)

	// Keyed requests: the merchant's own Idempotency-Keys.
	BeginRequest(key, fingerprint, ref string, inFlight time.Duration) (*KeyedRequest, bool, error)
	AnswerRequest(key string, a Answer) error
	ForgetRequest(key string) error

	// SeenSignature reports whether a webhook delivery with this signature
	// was handled and is remembered; RememberSignature remembers one until
	// a time (the replay guard, shared by every instance).
	SeenSignature(sig string) (bool, error)
	RememberSignature(sig string, until time.Time) error

	// Payment links (see Link). CreateLink stores a new link (ErrExists
	// when its ID or token is taken); GetLink reads one by ID and
	// LinkByToken by the Hash of its token (ErrNotFound for neither);
	// ListLinks lists them newest first, with cursors as List's;
	// UpdateLink changes one in a transaction (fn's error writes nothing).
	CreateLink(l *Link) error
	GetLink(id string) (*Link, error)
	LinkByToken(tokenHash string) (*Link, error)
	ListLinks(cursor string, limit int) ([]*Link, string, error)
	UpdateLink(id string, fn func(l *Link) error) (*Link, error)
	// CreateLinkOrder stores a new order made from link id (it sets
	// o.Link) in one transaction with the link's change: fn sees the link
	// and the order that holds it (nil when none) as they are now, with
	// the link locked, and admits the order by changing the link or
	// refuses it with an error (nothing is written then). Orders for one
	// link, from any number of callers on any instance, are decided one
	// after the other, so a single-use link never admits two. jobs are
	// written with the order, as Create's.
	CreateLinkOrder(id string, o *Order, fn func(l *Link, holder *Order) error, jobs ...Job) (*Link, error)

	// PurgeAbandoned deletes up to max orders that never moved money
	// (Order.Abandoned) and were made before the cut-off, each with its
	// indexes, jobs and buyer details, and its place in its link (the
	// link's count of orders, its holder); it returns their references.
	// Each order is read again where it is deleted, so one that moved any
	// amount meanwhile is kept.
	PurgeAbandoned(before time.Time, max int) ([]string, error)

	// CountEvent counts one more event under key, in a window that starts
	// with the key's first event and lasts window, and returns the count
	// of the window so far, this event included; after the window the
	// count starts again. Every instance on the same database counts
	// together (the shop's own rate limits). The key is stored hashed.
	CountEvent(key string, window time.Duration) (int, error)

	// Exclusive runs fn while no other caller of Exclusive with the same
	// name runs, in this process or any other on the same database (the
	// webhook registration, done once per shop).
	Exclusive(ctx context.Context, name string, fn func() error) error

	// Close releases the store; calls in flight finish first, later ones
	// get ErrClosed.
	Close() error
}

// Errors of the store.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("an order with this reference already exists")
	// ErrNoChange is returned by an Update function that decides to change
	// nothing.
	ErrNoChange = errors.New("no change")
	// ErrClosed: the store was closed (the shop is stopping).
	ErrClosed = errors.New("the order database is closed")
	// ErrLocked: another process has the database open.
	ErrLocked = errors.New("the order database is in use by another process; if that is a running Caddy, apply config changes with 'caddy reload'")
	// ErrUnavailable wraps errors of a database that cannot be reached
	// (PostgreSQL down or unreachable): nothing was written; try again.
	ErrUnavailable = errors.New("the order database is unavailable")
	// ErrOutcomeUnknown wraps errors of a write whose outcome the store
	// could not learn: the commit was sent, its answer was lost, and the
	// database could not be asked afterwards whether it was applied. The
	// write may or may not have happened; read the record before acting
	// on either assumption.
	ErrOutcomeUnknown = errors.New("the order database did not confirm the write; it may or may not have been applied")
)

// Options tune a store.
type Options struct {
	// Logger receives the engine's messages. Default: none.
	Logger *zap.Logger
	// Now is the clock for timestamps and leases. Default: time.Now.
	Now func() time.Time
	// HistoryLimit is how many history entries an order keeps (the first
	// and the newest). Default: 50.
	HistoryLimit int
	// InMemory keeps everything in memory (Badger; tests and benchmarks
	// only): no write survives the process.
	InMemory bool
}

// Defaults fills in the zero options.
func (o *Options) Defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = 50
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Interface guard
var _ Store = (*BadgerStore)(nil)

// Purger is a store that deletes expired records when asked: PostgreSQL
// has no TTL, so the shop purges buyer details past their retention,
// merchants' keys and webhook signatures past their time every few
// minutes. Badger expires them by itself.
type Purger interface {
	Purge(now time.Time) (int64, error)
}
