package vipps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a non-2xx answer from Vipps MobilePay. It is filled from whichever
// body shape the answering system uses: RFC 7807 problem details (ePayment,
// Webhooks), the Order Management variant with invalidParams, the API gateway
// body {"statusCode":401,"message":"..."} and the Azure AD body of the access
// token endpoint. Bodies that are not JSON still give an *Error with the
// status.
//
// Branch on StatusCode and ErrorCode, never on Title or Detail: Vipps changes
// the wording.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type, Title, Detail and Instance are the RFC 7807 problem fields.
	Type, Title, Detail, Instance string
	// TraceID identifies the failed call at Vipps; quote it in support
	// requests.
	TraceID string
	// ErrorCode is the numeric ePayment error code, such as "6080", taken
	// from the extraDetails entry named "ErrorCode". Empty when absent.
	ErrorCode string
	// ExtraDetails lists the extraDetails entries: the error code, or the
	// offending fields of a validation error.
	ExtraDetails []ExtraDetail
	// InvalidParams lists the offending fields of an Order Management
	// validation error.
	InvalidParams []ExtraDetail
	// Message is the text of an API gateway error body, e.g. "Access denied
	// due to missing subscription key. ...".
	Message string
	// AuthError is the "error" value of an access token failure, such as
	// "invalid_client" or "unauthorized_client".
	AuthError string
	// AuthErrorDescription is the matching "error_description".
	AuthErrorDescription string
	// RetryAfter is the wait the server asked for with a Retry-After header,
	// zero when absent.
	RetryAfter time.Duration
	// Operation names the client call that failed, e.g. "capture payment".
	Operation string
}

// ExtraDetail is one {name, reason} entry of a problem's extraDetails or of
// Order Management's invalidParams.
type ExtraDetail struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Error describes the failure in one line: operation, status, error code,
// the best available text and the trace id.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("vipps: ")
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	b.WriteString("status ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.ErrorCode != "" {
		b.WriteString(", code ")
		b.WriteString(e.ErrorCode)
	}
	if e.AuthError != "" {
		b.WriteString(", ")
		b.WriteString(e.AuthError)
	}
	text := e.Title
	if text == "" {
		text = e.Message
	}
	if text == "" {
		text = e.Detail
	}
	if text == "" {
		text = http.StatusText(e.StatusCode)
	}
	if text != "" {
		b.WriteString(": ")
		b.WriteString(text)
	}
	if e.Title != "" && e.Detail != "" && e.Detail != e.Title {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	for _, p := range e.InvalidParams {
		b.WriteString("; ")
		b.WriteString(p.Name)
		b.WriteString(": ")
		b.WriteString(p.Reason)
	}
	if e.ErrorCode == "" {
		for _, d := range e.ExtraDetails {
			b.WriteString("; ")
			b.WriteString(d.Name)
			b.WriteString(": ")
			b.WriteString(d.Reason)
		}
	}
	if e.TraceID != "" {
		b.WriteString(" [traceId ")
		b.WriteString(e.TraceID)
		b.WriteString("]")
	}
	return b.String()
}

// Caller errors returned before anything is sent.
var (
	// ErrMissingIdempotencyKey is returned by calls that change a payment
	// when the idempotency key is empty. The client never invents a key:
	// the caller must create it and store it before the call, so that a
	// retry after a crash reuses it.
	ErrMissingIdempotencyKey = errors.New("vipps: idempotency key is required")
	// ErrInvalidIdempotencyKey is returned for a key longer than 50
	// characters, the limit Vipps enforces.
	ErrInvalidIdempotencyKey = errors.New("vipps: idempotency key is longer than 50 characters")
	// ErrInvalidArgument is wrapped by errors about empty or malformed
	// references, ids and similar path values.
	ErrInvalidArgument = errors.New("vipps: invalid argument")
)

// StatusCode returns the HTTP status of an *Error in err's chain, or 0 when
// no answer was received (network failure, caller error, cancellation).
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// ErrorCode returns the ePayment ErrorCode (such as "6080") of an *Error in
// err's chain, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ErrorCode
	}
	return ""
}

// IsNotFound reports whether Vipps answered 404, e.g. for an unknown
// payment reference (ErrorCode 5090).
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports whether Vipps answered 409: an idempotency conflict, a
// duplicate reference, or an Order Management receipt that already exists
// (which a caller adding a receipt can treat as done).
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsTransient reports whether err is a failure that may go away when the same
// call is repeated with the same idempotency key: a network error or timeout
// of the HTTP exchange, or status 423, 429, 500, 502, 503 or 504. The client
// already retries these up to Config.MaxRetries; IsTransient tells a caller
// whether a later retry makes sense. Cancellation of the caller's context
// (context.Canceled) is not transient; a caller deadline that ended the
// retries of a transient failure still is.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return transientStatus(e.StatusCode)
	}
	var t *transportError
	return errors.As(err, &t)
}

// transportError wraps a failure of the HTTP exchange itself: no complete
// answer was read.
type transportError struct {
	op  string
	err error
}

func (e *transportError) Error() string { return "vipps: " + e.op + ": " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// decodeError builds an *Error from a non-2xx answer. Each field is decoded
// on its own so that one unexpected type does not lose the rest.
func decodeError(op string, resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{
		StatusCode: resp.StatusCode,
		Operation:  op,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(body), &raw); err != nil {
		return e
	}
	e.Type = rawString(raw["type"])
	e.Title = rawString(raw["title"])
	e.Detail = rawString(raw["detail"])
	e.Instance = rawString(raw["instance"])
	e.TraceID = rawString(raw["traceId"])
	e.Message = rawString(raw["message"])
	e.AuthError = rawString(raw["error"])
	e.AuthErrorDescription = rawString(raw["error_description"])
	if e.TraceID == "" {
		e.TraceID = rawString(raw["trace_id"])
	}
	e.ExtraDetails = rawDetails(raw["extraDetails"])
	e.InvalidParams = rawDetails(raw["invalidParams"])
	for _, d := range e.ExtraDetails {
		if strings.EqualFold(d.Name, "ErrorCode") {
			e.ErrorCode = d.Reason
			break
		}
	}
	return e
}

// rawString decodes a JSON string or number into a string; anything else
// gives "".
func rawString(m json.RawMessage) string {
	if len(m) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(m, &n) == nil {
		return n.String()
	}
	return ""
}

func rawDetails(m json.RawMessage) []ExtraDetail {
	if len(m) == 0 {
		return nil
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(m, &items) != nil {
		return nil
	}
	out := make([]ExtraDetail, 0, len(items))
	for _, it := range items {
		out = append(out, ExtraDetail{Name: rawString(it["name"]), Reason: rawString(it["reason"])})
	}
	return out
}

// redact replaces every occurrence of a credential in the text fields of e.
// The token endpoint echoes the client id in its error descriptions.
func (e *Error) redact(secrets ...string) {
	fields := []*string{&e.Type, &e.Title, &e.Detail, &e.Instance, &e.Message, &e.AuthErrorDescription}
	for i := range e.ExtraDetails {
		fields = append(fields, &e.ExtraDetails[i].Reason)
	}
	for i := range e.InvalidParams {
		fields = append(fields, &e.InvalidParams[i].Reason)
	}
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		for _, f := range fields {
			*f = strings.ReplaceAll(*f, s, "[redacted]")
		}
	}
}

// argError reports a caller error about a path value.
func argError(op, what string) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidArgument, op, what)
}
