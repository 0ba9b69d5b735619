package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// idemEntry is a stored answer for (MSN, operation, reference, key).
type idemEntry struct {
	payKey string    // msn/reference
	at     time.Time // when it was stored
	hash   [32]byte  // of the request body
	status int
	ctype  string

	// The answer is rendered once, outside the lock, from out or apiErr,
	// by whoever needs it first: the client's answer or the journal.
	once   sync.Once
	out    any
	apiErr *apiError
	path   string
	body   []byte
}

// render returns the answer's body.
func (e *idemEntry) render() []byte {
	e.once.Do(func() {
		if e.apiErr != nil {
			e.body = e.apiErr.body(e.path)
		} else {
			e.body = mustJSON(e.out)
		}
		e.out, e.apiErr, e.path = nil, nil, ""
	})
	return e.body
}

// Content types of stored answers, shared by every answer that sends one:
// net/http only reads them.
var (
	contentJSON    = []string{"application/json;charset=UTF-8"}
	contentProblem = []string{"application/problem+json"}
)

// write sends the stored answer.
func (e *idemEntry) write(w http.ResponseWriter) {
	switch e.ctype {
	case contentJSON[0]:
		w.Header()["Content-Type"] = contentJSON
	case contentProblem[0]:
		w.Header()["Content-Type"] = contentProblem
	default:
		w.Header().Set("Content-Type", e.ctype)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.render())
}

// idemRecord is an idemEntry as the data directory keeps it.
type idemRecord struct {
	PayKey      string    `json:"payment"`
	At          time.Time `json:"at"`
	Hash        string    `json:"hash"`
	Status      int       `json:"status"`
	ContentType string    `json:"contentType"`
	Body        string    `json:"body"`
}

// MarshalJSON writes the entry as an idemRecord, rendering the answer if
// nobody has yet.
func (e *idemEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal(idemRecord{PayKey: e.payKey, At: e.at, Hash: hex.EncodeToString(e.hash[:]),
		Status: e.status, ContentType: e.ctype, Body: string(e.render())})
}

// entry turns a kept record back into an entry.
func (rec idemRecord) entry() (*idemEntry, error) {
	e := &idemEntry{payKey: rec.PayKey, at: rec.At, status: rec.Status, ctype: rec.ContentType, body: []byte(rec.Body)}
	if _, err := hex.Decode(e.hash[:], []byte(rec.Hash)); err != nil {
		return nil, err
	}
	e.once.Do(func() {})
	return e, nil
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
// 409. The caller holds no lock; do runs under s.mu with the payment's key
// (payKey).
func (s *Simulator) idempotent(w http.ResponseWriter, r *http.Request, msn, op, ref, key string, body []byte, do func(k string) (int, any, *apiError)) {
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
		if e.hash != hash {
			writeProblem(w, r, domainErr(http.StatusConflict, conflictCode(op), "Idempotency conflict",
				"Idempotency-Key "+key+" was used with a different request body"))
			return
		}
		e.write(w)
		return
	}
	k := payKey(msn, ref)
	status, out, apiErr := do(k)
	e := &idemEntry{payKey: k, at: s.clock.Now(), hash: hash, status: status, ctype: contentJSON[0],
		out: out, apiErr: apiErr, path: r.URL.Path}
	if apiErr != nil {
		e.status, e.ctype = apiErr.status, contentProblem[0]
	}
	if e.status < 500 {
		s.addIdem(id, e)
	}
	s.mu.Unlock()
	s.wake()
	e.write(w)
}

// addIdem stores an entry; call with s.mu held. With a retention, entries
// are listed by payment so that they are forgotten with it.
func (s *Simulator) addIdem(id string, e *idemEntry) {
	s.idem[id] = e
	s.j.put(recIdem, id, e)
	if s.opts.Retention > 0 {
		s.idemByPay[e.payKey] = append(s.idemByPay[e.payKey], id)
		s.schedule(e.at.Add(s.opts.Retention), timerIdem, id)
	}
}
