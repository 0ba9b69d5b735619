package vipps

import (
	"context"
	"net/http"
)

// webhooksPath is the Webhooks v1 collection.
const webhooksPath = "/webhooks/v1/webhooks"

// RegisterWebhook asks Vipps to POST the given event types (for example
// AllPaymentEventTypes) to url, which must be a public HTTPS URL (POST
// /webhooks/v1/webhooks, 201). The answer carries the registration's id and
// its signing secret; the secret is returned only this once, so store it for
// VerifyWebhook.
//
// A lost answer cannot be told apart from a failed registration, and
// repeating the call would register twice, so it is repeated automatically
// only when Vipps rejected it unprocessed (429, 423). After another failure,
// call ListWebhooks before registering again.
func (c *Client) RegisterWebhook(ctx context.Context, url string, events []string) (*RegisterWebhookResponse, error) {
	const op = "register webhook"
	if url == "" {
		return nil, argError(op, "url is empty")
	}
	if len(events) == 0 {
		return nil, argError(op, "no events given")
	}
	var out RegisterWebhookResponse
	err := c.do(ctx, call{
		op:     op,
		method: http.MethodPost,
		path:   webhooksPath,
		body:   RegisterWebhookRequest{URL: url, Events: events},
	}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListWebhooks returns the sales unit's webhook registrations, without their
// secrets (GET /webhooks/v1/webhooks).
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	const op = "list webhooks"
	var out WebhookList
	if err := c.do(ctx, call{op: op, method: http.MethodGet, path: webhooksPath, replaySafe: true}, &out); err != nil {
		return nil, err
	}
	if out.Webhooks == nil {
		out.Webhooks = []Webhook{}
	}
	return out.Webhooks, nil
}

// DeleteWebhook removes a registration by id (DELETE
// /webhooks/v1/webhooks/{id}, 204).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	const op = "delete webhook"
	seg, err := pathSegment(op, "id", id)
	if err != nil {
		return err
	}
	return c.do(ctx, call{op: op, method: http.MethodDelete, path: webhooksPath + "/" + seg, replaySafe: true}, nil)
}
