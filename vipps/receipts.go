package vipps

import (
	"context"
	"net/http"
)

// AddReceipt attaches order lines and a bottom line to a payment in the
// customer's app (POST /order-management/v2/{paymentType}/receipts/{orderId},
// 201). paymentType is PaymentTypeEcom for ePayment; orderID is the payment
// reference.
//
// A receipt can be sent only once per order: a second one is answered with
// 409, so treat IsConflict(err) as "already done". For the same reason a
// failed attempt is repeated automatically even though the call carries no
// idempotency key.
func (c *Client) AddReceipt(ctx context.Context, paymentType, orderID string, receipt Receipt) error {
	const op = "add receipt"
	path, err := omPath(op, paymentType, "receipts/", orderID)
	if err != nil {
		return err
	}
	return c.do(ctx, call{op: op, method: http.MethodPost, path: path, body: receipt, replaySafe: true}, nil)
}
