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

// operate runs a merchant operation and answers it. With an Idempotency-Key
// header it keeps Stripe's contract: the first request with a key runs and
// its answer is kept for a day; a retry with the same key and the same
// request gets that answer again (status and body, with
// Idempotent-Replayed: true) — an answer of 202 is brought up to date once
// the operation is settled —; the same key with another operation, order or
// body is 422; a retry while the first request still runs is 409. Requests
// refused before anything happened (400, 404, 409 for another operation in
// progress, 503) keep no answer, so a retry runs again. Without the header
// every request runs.
func (h *Handler) operate(w http.ResponseWriter, r *http.Request, kind string, body any,
	run func(shop.Caller) (*state.Order, *state.Operation, error)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		o, op, err := run(shop.Caller{})
		h.answerOperation(w, r, o, op, err)
		return
	}
	if err := shop.CheckClientKey(key); err != nil {
		h.failErr(w, r, err)
		return
	}
	ref := r.PathValue("ref")
	canonical, err := json.Marshal(body)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	rec, fresh, err := h.svc.BeginKeyed(key, shop.Fingerprint(kind, ref, canonical), ref)
	switch {
	case errors.Is(err, shop.ErrKeyReused):
		h.fail(w, r, http.StatusUnprocessableEntity, "Idempotency-Key reused",
			"This Idempotency-Key was already used for a different request (another operation, order or body). Use a new key for a new request.")
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
	o, op, err := run(shop.Caller{Key: key})
	rec2 := &answerRecorder{header: http.Header{}}
	h.answerOperation(rec2, r.WithContext(withoutErrorSink(r.Context())), o, op, err)
	if keepAnswer(err, op) {
		a := state.Answer{Status: rec2.status, ContentType: rec2.header.Get("Content-Type"), Body: rec2.body.Bytes()}
		if op != nil {
			a.OpID = op.ID
		}
		if aerr := h.svc.AnswerKeyed(key, a); aerr != nil {
			h.log.Error("keeping the answer of a keyed request", zap.String("reference", ref), zap.Error(aerr))
		}
	} else if ferr := h.svc.ForgetKeyed(key); ferr != nil {
		h.log.Error("releasing an Idempotency-Key", zap.String("reference", ref), zap.Error(ferr))
	}
	rec2.copyTo(w)
}

// keepAnswer tells which outcomes a retry must get again: the operation
// ran (done, failed at Vipps, or pending in the background), or the order's
// amounts refused it.
func keepAnswer(err error, op *state.Operation) bool {
	var st *shop.StateError
	var unavailable *shop.UnavailableError
	switch {
	case err == nil:
		return true
	case errors.Is(err, shop.ErrInProgress):
		return false
	case errors.As(err, &st):
		return true
	case errors.As(err, &unavailable):
		return op != nil
	}
	return false
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
