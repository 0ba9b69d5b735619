package vipps

import (
	"context"
	"net/http"
)

// ForceApprove approves a payment as the customer would, without the app
// (POST /epayment/v1/test/payments/{reference}/approve). It exists only in
// the test environment and in simulators; production rejects it. Pass either
// a Customer (a test user's phone number) or the token from the payment's
// redirect URL.
//
// The call carries no idempotency key, so it is repeated automatically only
// when Vipps rejected it unprocessed (429, 423).
func (c *Client) ForceApprove(ctx context.Context, reference string, req ForceApproveRequest) error {
	const op = "force approve"
	ref, err := pathSegment(op, "reference", reference)
	if err != nil {
		return err
	}
	return c.do(ctx, call{
		op:     op,
		method: http.MethodPost,
		path:   "/epayment/v1/test/payments/" + ref + "/approve",
		body:   req,
	}, nil)
}
