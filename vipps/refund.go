package vipps

import "context"

// RefundPayment refunds amount of the captured money (POST
// /epayment/v1/payments/{reference}/refund). Partial refunds are allowed
// until the captured amount is used up. Repeat a failed refund with the same
// idempotency key and the same amount.
func (c *Client) RefundPayment(ctx context.Context, reference, idempotencyKey string, amount Amount) (*ModificationResponse, error) {
	return c.modify(ctx, "refund payment", "refund", reference, idempotencyKey, ModificationRequest{ModificationAmount: amount})
}
