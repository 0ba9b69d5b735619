package vipps

import "context"

// CancelPayment cancels a payment (POST
// /epayment/v1/payments/{reference}/cancel). A payment the customer has not
// yet approved becomes TERMINATED. For an authorized payment the whole
// uncaptured remainder is released, unless cancelTransactionOnly is set: then
// an authorized payment is left alone and Vipps answers with ErrorCode 6060,
// which makes it safe to abandon a checkout without racing a late approval.
func (c *Client) CancelPayment(ctx context.Context, reference, idempotencyKey string, cancelTransactionOnly bool) (*ModificationResponse, error) {
	return c.modify(ctx, "cancel payment", "cancel", reference, idempotencyKey, CancelRequest{CancelTransactionOnly: cancelTransactionOnly})
}
