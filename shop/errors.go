package shop

import (
	"errors"
	"fmt"
)

// InputError is a mistake in what a buyer or merchant sent. It is safe to
// show to them: it never contains secrets or personal data.
type InputError struct {
	Field  string
	Reason string
	// Code names the kind of mistake for pages that explain it in the
	// buyer's own language (one of the Code constants); empty for mistakes
	// only an API caller can make.
	Code string
}

// Codes of the mistakes a buyer can make at checkout.
const (
	CodePhone          = "phone"
	CodeUnknownProduct = "unknown_product"
	CodeQuantity       = "quantity"
	CodeEmptyCart      = "empty_cart"
	CodeTooManyLines   = "too_many_lines"
	CodeTotalTooLarge  = "total_too_large"
)

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// StateError says that an order is not in a state that allows an operation,
// e.g. shipping an order that was never paid. Reason is readable by people.
type StateError struct {
	Reference string
	Status    string
	Reason    string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("order %s is %s: %s", e.Reference, e.Status, e.Reason)
}

// UnavailableError says that Vipps could not be reached or answered with a
// transient failure; the same request may succeed later.
type UnavailableError struct {
	Op  string
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("vipps is unavailable (%s): %v", e.Op, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// OutcomeUnknownError says that what a request did is not known yet: a
// write to the order database or a call to Vipps may have been applied
// and its answer was lost, and nobody could tell which in time. Nothing
// may be assumed either way — neither that money moved nor that it did
// not. What was recorded before (an operation with its Idempotency-Key and
// the outbox job that finishes it) settles it in the background; a retry
// with the merchant's same Idempotency-Key finds that record and answers
// with the real outcome.
type OutcomeUnknownError struct {
	Op  string
	Err error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("the outcome of the %s is not known yet: %v", e.Op, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// RejectedError says that Vipps refused an operation for good (a 4xx that a
// retry will not change). Code and TraceID come from Vipps.
type RejectedError struct {
	Op      string
	Status  int
	Code    string
	TraceID string
	Err     error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("vipps refused %s (status %d, code %s): %v", e.Op, e.Status, e.Code, e.Err)
}

func (e *RejectedError) Unwrap() error { return e.Err }

// ErrNotFound is returned for an unknown order reference.
var ErrNotFound = errors.New("order not found")

// ErrInProgress says that another operation on the order is still running;
// the caller may look again shortly.
var ErrInProgress = errors.New("another operation on this order is in progress")

// errNoAuthorizedEvent: Vipps' event log of an authorized payment holds no
// AUTHORIZED event.
var errNoAuthorizedEvent = errors.New("the event log has no AUTHORIZED event")
