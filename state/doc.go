// Package state is the order memory of the Vipps plugin: an embedded Badger
// database that never loses an acknowledged order and lets only one change
// happen to an order at a time. It knows nothing about HTTP, Caddy or the
// Vipps API client.
//
// # The order record
//
// An Order holds what the shop sold (items with unit price and VAT rate,
// amount, currency), the buyer-visible Status, the last known view of the
// payment at Vipps (state and the authorized, captured, cancelled and
// refunded amounts), the Idempotency-Keys of the create call and of every
// merchant operation, the receipt status, timestamps, the poller's schedule
// and a short history of changes with their source (checkout, return,
// webhook, poller, merchant, worker). Records carry a schema version. Buyer
// details (name, email, phone, address) live under their own key with a
// Badger TTL, so they expire after the retention period while the
// accounting fields stay.
//
// # One transition function
//
// Update is the only way to change an order. It runs the caller's function
// on a copy inside a Badger read-modify-write transaction, validates the
// result against the money invariants (captured ≤ authorized − released,
// refunded ≤ captured, no amount ever decreases, the Vipps state never goes
// back), derives the status from the amounts, and commits the order, its
// indexes, any outbox jobs and buyer details together. Callers on the same
// order are serialised in-process (the plugin's return page, webhook
// handler, poller and merchant endpoints all run in one Caddy process,
// across config reloads through one shared Store), and a Badger conflict is
// retried with fresh data. That is the arbiter: whoever comes second sees
// the first one's result.
//
// # The amounts are the truth
//
// An order's money is four amounts kept as Vipps reports them: authorized,
// captured, released (cancelled) and refunded. The status (authorized,
// partially_captured, captured, partially_refunded, refunded, cancelled, …)
// is derived from them for people to read (DeriveStatus); nothing is
// decided by it. What Vipps says is merged by Order.ApplyPayment, which is
// monotonic: every amount takes the larger of the known and the observed
// value, and the payment state moves from nothing to CREATED to one final
// state. Vipps is the ledger: a capture, refund or release made in the
// business portal is absorbed like any other news, and a duplicate or stale
// observation (a webhook after a poll saw the same thing) is a no-op. Only
// a view Vipps cannot have given is an IllegalTransitionError.
//
// # The outbox
//
// Side effects — posting the receipt, finishing a capture whose answer was
// lost, notifying the merchant — are Jobs written in the same transaction as
// the change that calls for them. A worker claims due jobs with a lease
// (ClaimJobs), so two workers never hold the same job, and a job whose
// worker died is claimed again when the lease runs out. Each job is
// idempotent at its destination, which makes it happen exactly once from the
// caller's view. Jobs that keep failing go to a dead-letter list.
//
// # Indexes
//
// Besides the records there are three indexes: by creation time (newest
// first, for the merchant's list with stable cursors), by status and
// creation time (for filtered lists), and an index of watched orders keyed
// by their next check at Vipps: orders whose outcome is open, and orders
// with money still reserved (Order.Watched). The poller reads only that
// index, so its work grows with the number of open orders, not with the
// shop's history.
//
// # Keyed requests
//
// A merchant's system may send an Idempotency-Key of its own with an
// operation. BeginRequest records it with a fingerprint of the request, and
// AnswerRequest the answer given, for RequestKeyTTL: a retry gets the same
// answer, a different request under the same key is refused.
//
// # Durability
//
// Every commit is on disk before the call that made it returns: the
// database runs with Badger's SyncWrites, which syncs the write-ahead log of
// the memtable each commit lands in. (Badger's DB.Sync reaches only the
// newest memtable; a commit that lands in a memtable rotated out before the
// sync would wait for the background flush.) An acknowledged order, a
// merchant operation with its Idempotency-Key, an acknowledged webhook: all
// survive kill -9 and power loss.
//
// # Memory
//
// Badger's defaults suit a database server (64 MiB memtables, a 256 MiB
// block cache, 1 GiB value log files). A shop stores a few kilobytes per
// order, so Open uses 8 MiB memtables (two of them), an 8 MiB block cache, a
// 4 MiB index cache and 64 MiB value log files: an idle Caddy with the
// plugin stays small (see BENCHMARKS.md).
//
// # Concurrency across processes
//
// Badger allows one process per directory. Open reports ErrLocked when
// another process holds it; within Caddy, the module shares one Store per
// directory across config reloads.
package state
