package vipps

import "context"

// CapturePayment captures amount of an authorized payment (POST
// /epayment/v1/payments/{reference}/capture). Partial captures are allowed
// until the authorized amount is used up. Repeat a failed capture with the
// same idempotency key and the same amount; Vipps rejects a different amount
// under a used key (409, ErrorCode 4010). Check Aggregate.CapturedAmount in
// the answer.
func (c *Client) CapturePayment(ctx context.Context, reference, idempotencyKey string, amount Amount) (*ModificationResponse, error) {
	return c.modify(ctx, "capture payment", "capture", reference, idempotencyKey, ModificationRequest{ModificationAmount: amount})
}
