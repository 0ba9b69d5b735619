// Package shop is the payment flow of a Vipps MobilePay web shop: pricing a
// cart from the server-side catalog, creating the ePayment, confirming the
// order from what Vipps says (return page, webhooks and a poller feed one
// arbiter), posting the receipt to Order Management once, and the merchant's
// capture, cancel and refund — each exactly once, with an Idempotency-Key
// stored before the call.
//
// It knows nothing about HTTP requests or Caddy: package handlers turns
// requests into calls of Service, and the Caddy module wires the two.
//
// Errors tell the caller what happened: InputError (the buyer or merchant
// sent something wrong; nothing was stored), StateError (the order's state
// forbids the operation), UnavailableError (Vipps could not be reached; the
// same request may work later), RejectedError (Vipps refused for good) and
// ErrNotFound.
package shop
