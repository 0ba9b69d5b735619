package vipps

import (
	"context"
	"net/http"
)

// paymentsPath is the ePayment collection.
const paymentsPath = "/epayment/v1/payments"

// CreatePayment starts a payment (POST /epayment/v1/payments) and returns
// the landing page URL to send the customer to. The idempotency key is
// required: create it once per attempt, store it with the order before the
// call, and pass the same key when repeating the call after a failure, so
// that Vipps creates the payment at most once. Transient failures are
// retried with the same key and body.
func (c *Client) CreatePayment(ctx context.Context, idempotencyKey string, req CreatePaymentRequest) (*CreatePaymentResponse, error) {
	const op = "create payment"
	if err := checkIdempotencyKey(op, idempotencyKey); err != nil {
		return nil, err
	}
	if req.Reference == "" {
		return nil, argError(op, "reference is empty")
	}
	var out CreatePaymentResponse
	err := c.do(ctx, call{
		op:             op,
		method:         http.MethodPost,
		path:           paymentsPath,
		body:           req,
		idempotencyKey: idempotencyKey,
		replaySafe:     true,
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPayment reads a payment's state and aggregate (GET
// /epayment/v1/payments/{reference}). An unknown reference gives an error
// for which IsNotFound is true.
func (c *Client) GetPayment(ctx context.Context, reference string) (*Payment, error) {
	const op = "get payment"
	ref, err := pathSegment(op, "reference", reference)
	if err != nil {
		return nil, err
	}
	var out Payment
	if err := c.do(ctx, call{op: op, method: http.MethodGet, path: paymentsPath + "/" + ref, replaySafe: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPaymentEvents reads a payment's full event log, oldest first (GET
// /epayment/v1/payments/{reference}/events).
func (c *Client) GetPaymentEvents(ctx context.Context, reference string) ([]PaymentEvent, error) {
	const op = "get payment events"
	ref, err := pathSegment(op, "reference", reference)
	if err != nil {
		return nil, err
	}
	var out []PaymentEvent
	if err := c.do(ctx, call{op: op, method: http.MethodGet, path: paymentsPath + "/" + ref + "/events", replaySafe: true}, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []PaymentEvent{}
	}
	return out, nil
}
