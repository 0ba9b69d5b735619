package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// operate runs a merchant operation and answers it, under the merchant's
// Idempotency-Key when the request has one (see keyed).
func (h *Handler) operate(w http.ResponseWriter, r *http.Request, kind string, body any,
	run func(shop.Caller) (*state.Order, *state.Operation, error)) {
	h.keyed(w, r, kind, r.PathValue("ref"), body, func(w http.ResponseWriter, r *http.Request, c shop.Caller) (outcome, string) {
		o, op, err := run(c)
		h.answerOperation(w, r, o, op, err)
		opID := ""
		if op != nil {
			opID = op.ID
		}
		return outcomeOf(err, op), opID
	})
}

// outcome is what a keyed request's answer says about the request, and so
// what its key keeps.
type outcome int

const (
	// refused: nothing happened (a mistake in the request, another
	// operation in progress, a database that wrote nothing): the key is
	// released, and a retry runs again.
	refused outcome = iota
	// decided: the answer is the request's outcome (done, refused by the
	// order's amounts or by Vipps, or pending in the background): it is
	// kept, and a retry gets it again.
	decided
	// undecided: the outcome is not known (the database could not confirm
	// a write, or the outcome of a call could not be recorded): the key
	// keeps the request, and a retry runs it again, which finds what this
	// attempt did instead of doing it twice.
	undecided
)

// keyed runs a merchant request and answers it. With an Idempotency-Key
// header it keeps Stripe's contract: the first request with a key runs and
// its answer is kept for a day; a retry with the same key and the same
// request gets that answer again (status and body, with
// Idempotent-Replayed: true) — an answer of 202 is brought up to date once
// the operation is settled —; the same key with another kind of request,
// another subject (order or link) or another body is 422; a retry while
// the first request still runs is 409. A request refused before anything
// happened keeps no answer, so a retry runs again; a request whose outcome
// is not known (503, "retry with the same Idempotency-Key") keeps the key
// for the request, and a retry runs it again and finds what the first
// attempt did. Without the header every request runs. run answers on the
// writer it is given, and names the operation it started, if any.
func (h *Handler) keyed(w http.ResponseWriter, r *http.Request, kind, subject string, body any,
	run func(w http.ResponseWriter, r *http.Request, c shop.Caller) (outcome, string)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		run(w, r, shop.Caller{})
		return
	}
	if err := shop.CheckClientKey(key); err != nil {
		h.failErr(w, r, err)
		return
	}
	canonical, err := json.Marshal(body)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	fingerprint := shop.Fingerprint(kind, subject, canonical)
	rec, fresh, err := h.svc.BeginKeyed(key, fingerprint, subject)
	switch {
	case errors.Is(err, shop.ErrKeyReused):
		h.failErr(w, r, err)
		return
	case errors.Is(err, shop.ErrKeyInFlight):
		h.fail(w, r, http.StatusConflict, "Request in progress",
			"The first request with this Idempotency-Key is still being processed. Retry in a moment to get its answer.")
		return
	case err != nil:
		h.failErr(w, r, err)
		return
	}
	if !fresh {
		h.replay(w, r, rec)
		return
	}
	rec2 := &answerRecorder{header: http.Header{}}
	result, opID := run(rec2, r.WithContext(withoutErrorSink(r.Context())), shop.Caller{Key: key, Fingerprint: fingerprint})
	a := state.Answer{Status: rec2.status, ContentType: rec2.header.Get("Content-Type"), Body: rec2.body.Bytes(), OpID: opID}
	switch result {
	case decided:
		if aerr := h.svc.AnswerKeyed(key, a); aerr != nil {
			h.log.Error("keeping the answer of a keyed request", zap.String("subject", subject), zap.Error(aerr))
		}
	case undecided:
		// Kept as a request to run again; should even that not be
		// written, the request stays in flight until the hand-over and
		// then runs again, which comes to the same.
		a.Undecided = true
		if aerr := h.svc.AnswerKeyed(key, a); aerr != nil {
			h.log.Error("keeping an undecided keyed request", zap.String("subject", subject), zap.Error(aerr))
		}
	default:
		if ferr := h.svc.ForgetKeyed(key); ferr != nil {
			h.log.Error("releasing an Idempotency-Key", zap.String("subject", subject), zap.Error(ferr))
		}
	}
	rec2.copyTo(w)
}

// outcomeOf tells what an operation's answer says: done, failed at Vipps,
// pending in the background or refused by the order's amounts is decided;
// an outcome the shop could not confirm is undecided; anything else
// happened before anything was recorded.
func outcomeOf(err error, op *state.Operation) outcome {
	var st *shop.StateError
	var unavailable *shop.UnavailableError
	var unknown *shop.OutcomeUnknownError
	switch {
	case err == nil:
		return decided
	case errors.As(err, &unknown):
		return undecided
	case errors.Is(err, shop.ErrInProgress), errors.Is(err, shop.ErrKeyReused):
		// The key's record is dropped again: it belongs to the operation
		// the key started, which keeps answering for it.
		return refused
	case errors.As(err, &st):
		return decided
	case errors.As(err, &unavailable) && op != nil:
		return decided
	}
	return refused
}

// failedOutcome is what a failed request that started no operation says:
// undecided when a write's outcome could not be confirmed, refused
// otherwise.
func failedOutcome(err error) outcome {
	var unknown *shop.OutcomeUnknownError
	if errors.As(err, &unknown) || errors.Is(err, state.ErrOutcomeUnknown) {
		return undecided
	}
	return refused
}

// replay answers a retry with the kept answer. A kept 202 whose operation
// has since been settled is answered with the settled outcome, which is
// kept from then on.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request, rec *state.KeyedRequest) {
	status, ctype, body := rec.Status, rec.ContentType, rec.Body
	if status == http.StatusAccepted && rec.OpID != "" {
		if o, err := h.svc.Order(rec.Reference); err == nil {
			for _, op := range o.Ops {
				if op.ID != rec.OpID || op.Status == shop.OpPending {
					continue
				}
				fresh := &answerRecorder{header: http.Header{}}
				var ferr error
				if op.Status == shop.OpFailed {
					ferr = &shop.StateError{Reference: o.Reference, Status: string(o.Status), Reason: "vipps refused the " + op.Kind + " (code " + op.ErrorCode + ")"}
				}
				h.answerOperation(fresh, r.WithContext(withoutErrorSink(r.Context())), o, &op, ferr)
				status, ctype, body = fresh.status, fresh.header.Get("Content-Type"), fresh.body.Bytes()
				a := state.Answer{Status: status, ContentType: ctype, Body: body, OpID: rec.OpID}
				if err := h.svc.AnswerKeyed(rec.Key, a); err != nil {
					h.log.Error("updating the answer of a keyed request", zap.String("reference", rec.Reference), zap.Error(err))
				}
			}
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answerRecorder keeps an answer so it can be stored before it is sent.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answerRecorder) Header() http.Header { return a.header }

func (a *answerRecorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

func (a *answerRecorder) copyTo(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body.Bytes())
}
