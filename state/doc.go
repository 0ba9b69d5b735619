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
// result against the table of legal status transitions (CanTransition) and
// the money invariants (captured ≤ authorized − released, refunded ≤
// captured, nothing decreases), and commits the order, its indexes, any
// outbox jobs and buyer details together. Callers on the same order are
// serialised in-process (the plugin's return page, webhook handler, poller
// and merchant endpoints all run in one Caddy process, across config
// reloads through one shared Store), and a Badger conflict is retried with
// fresh data. That is the arbiter: whoever comes second sees the first
// one's result.
//
// What Vipps says is merged by Order.ApplyPayment, which is monotonic:
// amounts only grow and the payment state moves from nothing to CREATED to
// one final state. A duplicate or stale observation (a webhook arriving
// after a poll already saw the same thing) is a no-op, not an error; a
// contradicting final state is an IllegalTransitionError.
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
// creation time (for filtered lists), and a pending index keyed by the
// next check time that holds only orders still waiting for Vipps. The
// poller reads only the pending index, so its work grows with the number of
// pending orders, not with the shop's history.
//
// # Durability
//
// Create syncs to disk before it returns, and so do PutMeta and every Update
// whose function calls Tx.Durable: those are the writes the plugin makes
// before it calls Vipps or answers Vipps (the order and its create key; a
// merchant operation and its key with the job that finishes it; a webhook
// recorded for later). They survive kill -9 and power loss. The writes that
// record what Vipps answered are committed without an fsync of their own:
// kill -9 cannot lose them (they are in the operating system's cache), and
// after a power loss they are derived again from Vipps by the poller and the
// outbox, with the same Idempotency-Keys. That halves the fsyncs of a
// checkout. Options.SyncEveryWrite syncs every commit instead.
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
