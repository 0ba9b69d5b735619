package shop

import (
	"time"

	"github.com/google/uuid"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// captureOnPaymentActor names who asked for the capture of an order
// charged on payment.
const captureOnPaymentActor = "capture on payment"

// planCaptureOnPayment, inside the update that sees an order charged on
// payment authorized, records the capture of everything reserved with its
// own Idempotency-Key and hands it to the outbox at once: the capture is
// on disk in the same transaction as the authorization, so a crash in
// between cannot forget it, and it is sent exactly once like any merchant
// operation. An Express order waits until its delivery is known.
func (s *Service) planCaptureOnPayment(o *state.Order, tx *state.Tx, now time.Time) bool {
	if !o.CaptureOnPayment || o.Payment.Reserved() <= 0 || (o.Express && o.Shipping == nil) {
		return false
	}
	for _, op := range o.Ops {
		if op.Kind == OpCapture || op.Status == OpPending {
			return false
		}
	}
	amount := o.Payment.Reserved()
	s.addOperation(o, tx, state.Operation{
		ID: uuid.NewString(), Kind: OpCapture, Amount: amount, IdempotencyKey: uuid.NewString(),
		Status: OpPending, CreatedAt: now, Actor: captureOnPaymentActor, Note: "charged on payment",
	}, now)
	tx.Note("payment authorized at vipps; capture of %d on payment requested", amount)
	return true
}
