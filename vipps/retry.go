package vipps

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// transientStatus reports whether an answer with this status may succeed
// when the same request is sent again: 423 (payment locked by a concurrent
// operation), 429 (rate limited), 500, 502, 503 and 504.
func transientStatus(status int) bool {
	switch status {
	case http.StatusLocked, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryable decides whether a failed attempt is repeated. A request that is
// not safe to replay is repeated only when the server certainly did not act
// on it: 429 and 423 reject a request before processing it.
func retryable(err error, replaySafe bool) bool {
	var e *Error
	if errors.As(err, &e) {
		if !replaySafe {
			return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusLocked
		}
		return transientStatus(e.StatusCode)
	}
	var t *transportError
	return replaySafe && errors.As(err, &t)
}

// backoff returns the wait before retry number attempt+1: the server's
// Retry-After when given (capped at RetryMaxDelay), otherwise a random
// duration between zero and RetryBaseDelay·2^attempt, capped at
// RetryMaxDelay ("full jitter").
func (c *Client) backoff(attempt int, err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return min(e.RetryAfter, c.cfg.RetryMaxDelay)
	}
	ceiling := c.cfg.RetryBaseDelay
	for i := 0; i < attempt && ceiling < c.cfg.RetryMaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.cfg.RetryMaxDelay)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// parseRetryAfter reads a Retry-After header given in seconds or as an HTTP
// date. Missing, malformed or past values give zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
