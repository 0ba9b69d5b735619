package sim

import (
	"crypto/sha256"
	"net/http"
)

// idemEntry is a stored answer for (MSN, operation, reference, key).
type idemEntry struct {
	bodyHash [32]byte
	status   int
	header   http.Header
	body     []byte
}

// conflictCode is the ErrorCode for a reused key with another body.
func conflictCode(op string) string {
	switch op {
	case "capture":
		return "4010"
	case "refund":
		return "4150"
	}
	return "4020"
}

// idempotent runs a mutation once per key: the same key with the same body
// replays the stored answer (2xx and 4xx alike); with another body it is a
// 409. The caller holds no lock; do runs under s.mu.
func (s *Simulator) idempotent(w http.ResponseWriter, r *http.Request, msn, op, ref, key string, body []byte, do func() (int, any, *apiError)) {
	if key == "" {
		writeProblem(w, r, validationErr("Idempotency-Key", "The Idempotency-Key header is required."))
		return
	}
	if len(key) > 50 {
		writeProblem(w, r, validationErr("Idempotency-Key", "The Idempotency-Key must be at most 50 characters."))
		return
	}
	id := msn + "|" + op + "|" + ref + "|" + key
	hash := sha256.Sum256(body)
	s.mu.Lock()
	if e, ok := s.idem[id]; ok {
		s.mu.Unlock()
		if e.bodyHash != hash {
			writeProblem(w, r, domainErr(http.StatusConflict, conflictCode(op), "Idempotency conflict",
				"Idempotency-Key "+key+" was used with a different request body"))
			return
		}
		for k, v := range e.header {
			w.Header()[k] = v
		}
		w.WriteHeader(e.status)
		_, _ = w.Write(e.body)
		return
	}
	status, out, apiErr := do()
	rec := &idemEntry{bodyHash: hash, header: http.Header{}}
	if apiErr != nil {
		rec.status = apiErr.status
		rec.header.Set("Content-Type", "application/problem+json")
		rec.body = apiErr.body(r.URL.Path)
	} else {
		rec.status = status
		rec.header.Set("Content-Type", "application/json;charset=UTF-8")
		rec.body = mustJSON(out)
	}
	if rec.status < 500 {
		s.idem[id] = rec
	}
	s.mu.Unlock()
	s.wake()
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
}
