package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// Merchant operation kinds.
const (
	OpCapture = "capture"
	OpCancel  = "cancel"
	OpRefund  = "refund"
)

// Operation states.
const (
	OpPending = "pending"
	OpDone    = "done"
	OpFailed  = "failed"
)

// MaxCallTimeout bounds Config.CallTimeout.
const MaxCallTimeout = time.Minute

// OpHandover is the longest hand-over (see Service.Handover): with the
// longest call timeout.
const OpHandover = 2*MaxCallTimeout + 10*time.Second

// Handover is when the outbox takes over an operation whose call did not
// come back: twice the call timeout and then some, later than any request
// can still be sending it, so the worker never races the request that
// started it with the same key. It is also how long a merchant's request
// with an Idempotency-Key counts as in flight.
func (s *Service) Handover() time.Duration {
	return max(2*s.cfg.CallTimeout+10*time.Second, 30*time.Second)
}

// Caller is who asks for a merchant operation.
type Caller struct {
	// Actor names who asked, for the order's history.
	Actor string
	// Key is the Idempotency-Key the merchant's own system sent, if any:
	// the operation is recorded with it, so that a retry of a request whose
	// answer was lost finds this operation instead of starting another.
	Key string
	// Fingerprint identifies what the request with Key asks (see
	// Fingerprint): an operation found by its key answers only the same
	// request; another one with that key is ErrKeyReused.
	Fingerprint string
}

// plan decides, inside the arbiter, whether an operation is allowed and
// fills in its amount, note and lines. It returns a StateError when the
// order's amounts forbid it.
type plan func(o *state.Order, op *state.Operation) error

// runOperation is the one path of every merchant operation: it records the
// operation with a fresh Idempotency-Key and a fallback outbox job in one
// transaction (refusing if another operation is pending), then calls Vipps
// with that key and records the outcome. Concurrent and repeated calls
// therefore apply the operation once: the arbiter admits one at a time, and
// a retry by the outbox reuses the stored key. A caller's key that already
// started an operation on the order gets that operation back (sent again
// with its stored key if its outcome is still open, and marked Replayed),
// never a second one; the same key with another request is ErrKeyReused,
// however long ago it was used.
//
// Every error says what is known: an InputError, StateError or
// ErrInProgress recorded nothing; an UnavailableError comes with the
// operation recorded and pending (the outbox finishes it with its key);
// an OutcomeUnknownError means the database could not confirm the record
// or the outcome, so the caller must not assume either.
func (s *Service) runOperation(ctx context.Context, ref, kind string, c Caller, decide plan) (*state.Order, *state.Operation, error) {
	now := s.now().UTC()
	var op state.Operation
	found := false
	o, _, err := s.update(ref, state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
		if existing := opByClientKey(o, c.Key); existing != nil {
			op, found = *existing, true
			return state.ErrNoChange
		}
		for _, existing := range o.Ops {
			if existing.Status == OpPending {
				return ErrInProgress
			}
		}
		op = state.Operation{
			ID:                uuid.NewString(),
			Kind:              kind,
			IdempotencyKey:    uuid.NewString(),
			ClientKey:         c.Key,
			ClientFingerprint: c.Fingerprint,
			Status:            OpPending,
			CreatedAt:         now,
			Actor:             c.Actor,
		}
		if err := decide(o, &op); err != nil {
			return err
		}
		s.addOperation(o, tx, op, now.Add(s.Handover()))
		return nil
	})
	if err != nil {
		return nil, nil, storeFailure(kind, err)
	}
	if found {
		if op.Kind != kind || (c.Fingerprint != "" && op.ClientFingerprint != "" && op.ClientFingerprint != c.Fingerprint) {
			return nil, nil, ErrKeyReused
		}
	}
	o, done, err := s.executeOperation(ctx, o, op.ID, state.SourceMerchant)
	if done != nil && found {
		done.Replayed = true
	}
	return o, done, err
}

// storeFailure is what a failed write of the order database means to the
// caller of an operation: a write whose outcome the database could not
// confirm is an OutcomeUnknownError; anything else wrote nothing.
func storeFailure(op string, err error) error {
	if errors.Is(err, state.ErrOutcomeUnknown) {
		return &OutcomeUnknownError{Op: op, Err: err}
	}
	return err
}

// addOperation records a pending operation with the outbox job that
// finishes it if nobody else does by handover. The key is on disk before
// Vipps hears of it: the commit is synced.
func (s *Service) addOperation(o *state.Order, tx *state.Tx, op state.Operation, handover time.Time) {
	o.Ops = append(o.Ops, op)
	tx.Enqueue(state.Job{ID: operationJobID(op.ID), Kind: JobOperation, Ref: o.Reference, Payload: []byte(op.ID), NotBefore: handover})
	tx.Note("%s of %d requested", op.Kind, op.Amount)
}

func operationJobID(opID string) string { return "op-" + opID }

// executeOperation sends a recorded operation of o to Vipps with its
// stored key and records the outcome. It is safe to call again for the
// same operation: once the operation is done or failed, it only returns
// the record. A follow-up the outcome calls for (releasing the rest after
// a final shipment) is run too.
func (s *Service) executeOperation(ctx context.Context, o *state.Order, opID string, src state.Source) (*state.Order, *state.Operation, error) {
	o, op, err := s.sendOperation(ctx, o, opID, src)
	if err != nil || op == nil || op.Status != OpDone {
		return o, op, err
	}
	if next := followUp(o, op.ID); next != nil && next.Status == OpPending {
		after, _, ferr := s.sendOperation(ctx, o, next.ID, src)
		if ferr == nil && after != nil {
			o = after
		} else if ferr != nil {
			s.log.Warn("releasing the rest after a final shipment did not finish; the outbox will", zap.String("reference", o.Reference), zap.Error(ferr))
		}
	}
	return o, findOp(o, opID), nil
}

// sendOperation makes the one call of an operation of o (the order as
// recorded, with the operation in it) and records its outcome. It returns
// the order as recorded afterwards; on an UnavailableError that is o, with
// the operation still pending.
func (s *Service) sendOperation(ctx context.Context, o *state.Order, opID string, src state.Source) (*state.Order, *state.Operation, error) {
	ref := o.Reference
	op := findOp(o, opID)
	if op == nil {
		return o, nil, &RejectedError{Op: "operation", Err: fmt.Errorf("operation %s not found", opID)}
	}
	if op.Status != OpPending {
		return o, op, nil
	}
	amount := vipps.Amount{Currency: o.Currency, Value: op.Amount}
	callCtx, cancel := s.callCtx(ctx)
	defer cancel()
	var resp *vipps.ModificationResponse
	var err error
	switch op.Kind {
	case OpCapture:
		resp, err = s.vipps.CapturePayment(callCtx, ref, op.IdempotencyKey, amount)
	case OpCancel:
		resp, err = s.vipps.CancelPayment(callCtx, ref, op.IdempotencyKey, false)
	case OpRefund:
		resp, err = s.vipps.RefundPayment(callCtx, ref, op.IdempotencyKey, amount)
	default:
		return o, op, &RejectedError{Op: op.Kind, Err: fmt.Errorf("unknown operation kind %q", op.Kind)}
	}
	if err := s.classifyOperation(op.Kind, err); err != nil {
		var rejected *RejectedError
		if !errors.As(err, &rejected) {
			// Unknown outcome at Vipps: the operation stays pending as
			// recorded, and the outbox job settles it with the same key.
			return o, op, err
		}
		after, failed, rerr := s.recordOperation(ref, opID, src, nil, rejected)
		if rerr != nil {
			return nil, nil, &OutcomeUnknownError{Op: op.Kind, Err: fmt.Errorf("vipps refused it, and recording that failed: %w", rerr)}
		}
		s.log.Warn("vipps refused operation", zap.String("reference", ref), zap.String("operation", op.Kind), zap.String("code", rejected.Code), zap.String("trace_id", rejected.TraceID))
		// Our view may be stale (a capture made in the portal, say):
		// Vipps is the ledger, so ask it now.
		if fresh, rerr := s.Refresh(ctx, ref, src); rerr == nil {
			after, failed = fresh, findOp(fresh, opID)
		}
		return after, failed, &StateError{Reference: ref, Status: string(after.Status), Reason: fmt.Sprintf("vipps refused the %s (code %s)", op.Kind, rejected.Code)}
	}
	after, done, rerr := s.recordOperation(ref, opID, src, resp, nil)
	if rerr != nil {
		return nil, nil, &OutcomeUnknownError{Op: op.Kind, Err: fmt.Errorf("vipps answered, and recording its answer failed: %w", rerr)}
	}
	return after, done, nil
}

// classifyOperation is classify for capture, cancel and refund: a 409 or
// 423 means another request with the same key (or on the same payment) is
// being processed at Vipps, so the outcome is open, not a refusal.
func (s *Service) classifyOperation(op string, err error) error {
	switch vipps.StatusCode(err) {
	case 409, 423:
		return &UnavailableError{Op: op, Err: err}
	}
	return s.classify(op, err)
}

// recordOperation writes an operation's outcome and the payment view that
// came with it, plans the follow-up (a final shipment's release) and drops
// the fallback job, all in one transaction.
func (s *Service) recordOperation(ref, opID string, src state.Source, resp *vipps.ModificationResponse, rejected *RejectedError) (*state.Order, *state.Operation, error) {
	var obs *state.Observation
	if resp != nil {
		o := aggregateObservation(resp.State, resp.Aggregate, resp.PSPReference, s.now().UTC())
		obs = &o
	}
	return s.settleOperation(ref, opID, src, obs, rejected, "")
}

// settleOperation records the outcome of a pending operation: done with
// the payment as Vipps then showed it (obs), or failed (rejected, or a
// reason of our own). A settled operation is left as it is. The fallback
// job is dropped in the same commit as the outcome, so an operation is
// never pending without it: when the outcome cannot be recorded the error
// says so, the job stays, and it settles the operation later.
func (s *Service) settleOperation(ref, opID string, src state.Source, obs *state.Observation, rejected *RejectedError, reason string) (*state.Order, *state.Operation, error) {
	now := s.now().UTC()
	after, _, err := s.update(ref, src, func(o *state.Order, tx *state.Tx) error {
		op := findOp(o, opID)
		if op == nil || op.Status != OpPending {
			tx.DropJob(operationJobID(opID))
			return state.ErrNoChange
		}
		tx.DropJob(operationJobID(opID))
		op.DoneAt = now
		switch {
		case rejected != nil:
			op.Status = OpFailed
			op.ErrorCode, op.TraceID = rejected.Code, rejected.TraceID
			op.Error = fmt.Sprintf("vipps answered %d", rejected.Status)
			tx.Note("%s refused by vipps: code %s, trace %s", op.Kind, rejected.Code, rejected.TraceID)
			return nil
		case obs == nil:
			op.Status = OpFailed
			op.Error = reason
			tx.Note("%s failed: %s", op.Kind, reason)
			return nil
		}
		op.Status = OpDone
		tx.Note("%s of %d done", op.Kind, op.Amount)
		if op.TrackingURL != "" {
			// In the commit that records the capture: the app shows the
			// tracking link once, whoever settles the capture.
			payload, _ := json.Marshal(map[string]string{"url": op.TrackingURL})
			tx.Enqueue(state.Job{Kind: JobCategory, Ref: ref, Payload: payload, NotBefore: now})
		}
		if _, err := o.ApplyPayment(*obs); err != nil {
			return err
		}
		if op.ReleaseRest && o.Payment.Reserved() > 0 {
			handover := now.Add(s.Handover())
			if src == state.SourceWorker {
				handover = now // nobody else is about to send it
			}
			s.addOperation(o, tx, state.Operation{
				ID: uuid.NewString(), Kind: OpCancel, Amount: o.Payment.Reserved(), IdempotencyKey: uuid.NewString(),
				Status: OpPending, CreatedAt: now, Actor: op.Actor, Follows: op.ID, Note: "rest released after the final shipment",
			}, handover)
		}
		return nil
	})
	if err != nil {
		// The fallback job stays and settles the operation later.
		s.log.Error("recording operation outcome", zap.String("reference", ref), zap.Error(err))
		return nil, nil, fmt.Errorf("recording the outcome of operation %s: %w", opID, err)
	}
	return after, findOp(after, opID), nil
}

func findOp(o *state.Order, id string) *state.Operation {
	for i := range o.Ops {
		if o.Ops[i].ID == id {
			return &o.Ops[i]
		}
	}
	return nil
}

// opByClientKey finds the operation a merchant's key started.
func opByClientKey(o *state.Order, key string) *state.Operation {
	if key == "" {
		return nil
	}
	for i := range o.Ops {
		if o.Ops[i].ClientKey == key {
			return &o.Ops[i]
		}
	}
	return nil
}

// followUp finds the operation planned to follow another.
func followUp(o *state.Order, id string) *state.Operation {
	for i := range o.Ops {
		if o.Ops[i].Follows == id {
			return &o.Ops[i]
		}
	}
	return nil
}

// Remaining is what is still reserved and neither captured nor released.
func Remaining(o *state.Order) int64 { return o.Payment.Reserved() }
