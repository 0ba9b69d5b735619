package state

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"time"
)

// Job is an outbox entry: a side effect (post a receipt, finish a capture,
// notify the merchant) written in the same transaction as the change that
// calls for it, and run by a worker until it succeeds.
type Job struct {
	// ID is unique; Enqueue assigns a time-ordered one if empty. A caller
	// that sets it can later complete the job by ID.
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Ref        string    `json:"ref,omitempty"`
	Payload    []byte    `json:"payload,omitempty"`
	Attempts   int       `json:"attempts"`
	NotBefore  time.Time `json:"not_before,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// AvailableAt is when a job may next be claimed.
func (j Job) AvailableAt() time.Time {
	if j.LeaseUntil.After(j.NotBefore) {
		return j.LeaseUntil
	}
	return j.NotBefore
}

// Prepare gives a new job its ID (time-ordered) and creation time.
func (j *Job) Prepare(now time.Time) {
	now = now.UTC()
	if j.ID == "" {
		j.ID = newJobID(now)
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
}

// Lease counts a claim: one more attempt, leased until until.
func (j *Job) Lease(until time.Time) {
	j.Attempts++
	j.LeaseUntil = until.UTC()
}

// Reschedule releases a claimed job to run again at next, recording why.
func (j *Job) Reschedule(cause error, next time.Time) {
	j.LeaseUntil = time.Time{}
	j.NotBefore = next.UTC()
	if cause != nil {
		j.LastError = cause.Error()
	}
}

// Bury marks a job given up on, recording why.
func (j *Job) Bury(cause error) {
	if cause != nil {
		j.LastError = cause.Error()
	}
	j.LeaseUntil = time.Time{}
}

func newJobID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return tsKey(now) + "-" + hex.EncodeToString(b[:])
}

// Backoff is the wait before attempt n+1 of a job: exponential from 5
// seconds, capped at an hour, with jitter so retries do not march in step.
func Backoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	if d > time.Hour {
		d = time.Hour
	}
	half := int64(d / 2)
	n, err := rand.Int(rand.Reader, big.NewInt(half+1))
	if err != nil {
		return d
	}
	return time.Duration(half + n.Int64())
}
