package shop

import (
	"context"
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

// opRetryDelay is when the outbox takes over an operation whose call did not
// come back: later than any single call can take, so the worker never races
// the request that started it.
const opRetryDelay = 2 * time.Minute

// plan decides, inside the arbiter, whether an operation is allowed and
// fills in its amount, note and lines. It returns a StateError when the
// order's state forbids it.
type plan func(o *state.Order, op *state.Operation) error

// runOperation is the one path of every merchant operation: it records the
// operation with a fresh Idempotency-Key and a fallback outbox job in one
// transaction (refusing if another operation is pending), then calls Vipps
// with that key and records the outcome. Concurrent and repeated calls
// therefore apply the operation once: the arbiter admits one at a time, and
// a retry by the outbox reuses the stored key.
func (s *Service) runOperation(ctx context.Context, ref, kind, actor string, decide plan) (*state.Order, *state.Operation, error) {
	now := s.now().UTC()
	var op state.Operation
	_, _, err := s.update(ref, state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
		for _, existing := range o.Ops {
			if existing.Status == OpPending {
				return ErrInProgress
			}
		}
		op = state.Operation{
			ID:             uuid.NewString(),
			Kind:           kind,
			IdempotencyKey: uuid.NewString(),
			Status:         OpPending,
			CreatedAt:      now,
			Actor:          actor,
		}
		if err := decide(o, &op); err != nil {
			return err
		}
		o.Ops = append(o.Ops, op)
		tx.Enqueue(state.Job{ID: operationJobID(op.ID), Kind: JobOperation, Ref: ref, Payload: []byte(op.ID), NotBefore: now.Add(opRetryDelay)})
		tx.Note("%s of %d requested", kind, op.Amount)
		// The key must be on disk before Vipps hears of it.
		tx.Durable()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return s.executeOperation(ctx, ref, op.ID, state.SourceMerchant)
}

func operationJobID(opID string) string { return "op-" + opID }

// executeOperation sends a recorded operation to Vipps with its stored key
// and records the outcome. It is safe to call again for the same operation:
// once the operation is done or failed, it only returns the record.
func (s *Service) executeOperation(ctx context.Context, ref, opID string, src state.Source) (*state.Order, *state.Operation, error) {
	o, err := s.Order(ref)
	if err != nil {
		return nil, nil, err
	}
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
	if err := s.classify(op.Kind, err); err != nil {
		var rejected *RejectedError
		if !errors.As(err, &rejected) {
			// Unknown outcome: the outbox job retries with the same key.
			return o, op, err
		}
		after, failed := s.recordOperation(ref, opID, src, nil, rejected)
		s.log.Warn("vipps refused operation", zap.String("reference", ref), zap.String("operation", op.Kind), zap.String("code", rejected.Code), zap.String("trace_id", rejected.TraceID))
		// Our view may be stale (e.g. a capture made in the portal).
		go s.Refresh(context.WithoutCancel(ctx), ref, src) //nolint:errcheck
		return after, failed, &StateError{Reference: ref, Status: string(after.Status), Reason: fmt.Sprintf("vipps refused the %s (code %s)", op.Kind, rejected.Code)}
	}
	after, done := s.recordOperation(ref, opID, src, resp, nil)
	return after, done, nil
}

// recordOperation writes an operation's outcome and the payment view that
// came with it, and drops the fallback job.
func (s *Service) recordOperation(ref, opID string, src state.Source, resp *vipps.ModificationResponse, rejected *RejectedError) (*state.Order, *state.Operation) {
	now := s.now().UTC()
	after, _, err := s.update(ref, src, func(o *state.Order, tx *state.Tx) error {
		op := findOp(o, opID)
		if op == nil || op.Status != OpPending {
			return state.ErrNoChange
		}
		op.DoneAt = now
		if rejected != nil {
			op.Status = OpFailed
			op.ErrorCode, op.TraceID = rejected.Code, rejected.TraceID
			op.Error = fmt.Sprintf("vipps answered %d", rejected.Status)
			tx.Note("%s refused by vipps: code %s, trace %s", op.Kind, rejected.Code, rejected.TraceID)
			return nil
		}
		op.Status = OpDone
		tx.Note("%s of %d done", op.Kind, op.Amount)
		_, err := o.ApplyPayment(state.Observation{
			State:        string(resp.State),
			Authorized:   resp.Aggregate.AuthorizedAmount.Value,
			Captured:     resp.Aggregate.CapturedAmount.Value,
			Cancelled:    resp.Aggregate.CancelledAmount.Value,
			Refunded:     resp.Aggregate.RefundedAmount.Value,
			PSPReference: resp.PSPReference,
			At:           now,
		})
		return err
	})
	if err != nil {
		s.log.Error("recording operation outcome", zap.String("reference", ref), zap.Error(err))
	}
	if cerr := s.store.CompleteJob(state.Job{ID: operationJobID(opID)}); cerr != nil {
		s.log.Warn("dropping operation job", zap.String("reference", ref), zap.Error(cerr))
	}
	if after == nil {
		after, _ = s.Order(ref)
	}
	if after == nil {
		return nil, nil
	}
	return after, findOp(after, opID)
}

func findOp(o *state.Order, id string) *state.Operation {
	for i := range o.Ops {
		if o.Ops[i].ID == id {
			return &o.Ops[i]
		}
	}
	return nil
}

// Remaining is what is still reserved and neither captured nor released.
func Remaining(o *state.Order) int64 {
	return o.Payment.Authorized - o.Payment.Captured - o.Payment.Cancelled
}
