package vipps

import (
	"context"
	"net/http"
)

// modify sends capture, cancel or refund.
func (c *Client) modify(ctx context.Context, op, action, reference, idempotencyKey string, body any) (*ModificationResponse, error) {
	ref, err := pathSegment(op, "reference", reference)
	if err != nil {
		return nil, err
	}
	if err := checkIdempotencyKey(op, idempotencyKey); err != nil {
		return nil, err
	}
	var out ModificationResponse
	err = c.do(ctx, call{
		op:             op,
		method:         http.MethodPost,
		path:           paymentsPath + "/" + ref + "/" + action,
		body:           body,
		idempotencyKey: idempotencyKey,
		replaySafe:     true,
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
