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

const (
	// tokenPath is the access token endpoint.
	tokenPath = "/accesstoken/get"
	// tokenRefreshMargin is the most time before expiry at which a cached
	// token is replaced.
	tokenRefreshMargin = 5 * time.Minute
	// tokenDefaultLifetime is assumed when the answer gives no expiry.
	tokenDefaultLifetime = 10 * time.Minute
	// tokenFetchTimeout bounds one shared token fetch, retries included.
	tokenFetchTimeout = 2 * time.Minute
)

// cachedToken is an access token with its validity.
type cachedToken struct {
	value     string
	obtained  time.Time
	expires   time.Time
	refreshAt time.Time
}

// tokenResponse parses the token answer. Vipps sends the numbers as strings;
// some servers send numbers, so both are accepted.
type tokenResponse struct {
	TokenType   string    `json:"token_type"`
	ExpiresIn   flexInt64 `json:"expires_in"`
	ExpiresOn   flexInt64 `json:"expires_on"`
	AccessToken string    `json:"access_token"`
}

// flexInt64 is an integer that may be written as a JSON number or a JSON
// string. Empty strings and null give zero.
type flexInt64 int64

// UnmarshalJSON accepts 3600, "3600", "" and null.
func (f *flexInt64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*f = 0
			return nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Tolerate a fractional value such as 3599.0.
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		n = int64(fl)
	}
	*f = flexInt64(n)
	return nil
}

// Token returns a valid access token, fetching one from POST
// /accesstoken/get when none is cached or the cached one is close to expiry
// (less than 5 minutes or 10 % of its lifetime left). Concurrent callers
// share one fetch. The API calls use it themselves; it is exported for
// diagnostics and tests.
func (c *Client) Token(ctx context.Context) (string, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	t := c.token
	c.mu.Unlock()
	if t != nil && now.Before(t.refreshAt) {
		return t.value, nil
	}
	// The fetch is shared, so it must not end when the first caller's
	// context does; each caller still stops waiting when its own ends.
	ch := c.tokenGroup.DoChan("token", func() (any, error) {
		c.mu.Lock()
		cur := c.token
		c.mu.Unlock()
		if cur != nil && c.cfg.Now().Before(cur.refreshAt) {
			return cur.value, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		defer cancel()
		nt, err := c.fetchToken(fctx)
		if err != nil {
			return "", err
		}
		c.mu.Lock()
		c.token = nt
		c.mu.Unlock()
		return nt.value, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			// A cached token that has not yet expired is still usable
			// when an early refresh fails.
			if t != nil && now.Before(t.expires) && IsTransient(res.Err) {
				return t.value, nil
			}
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", contextError("get access token", ctx.Err(), nil)
	}
}

// dropToken forgets the cached token if it is still the one that was
// rejected, so that concurrent 401s cause a single new fetch.
func (c *Client) dropToken(rejected string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != nil && c.token.value == rejected {
		c.token = nil
	}
}

// fetchToken calls the token endpoint once (with retries).
func (c *Client) fetchToken(ctx context.Context) (*cachedToken, error) {
	var tr tokenResponse
	err := c.do(ctx, call{
		op:         "get access token",
		method:     http.MethodPost,
		path:       tokenPath,
		noAuth:     true,
		replaySafe: true,
		extraHeaders: map[string]string{
			"client_id":     c.cfg.ClientID,
			"client_secret": c.cfg.ClientSecret,
		},
	}, &tr)
	if err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, errors.New("vipps: get access token: answer carries no access_token")
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, fmt.Errorf("vipps: get access token: unexpected token_type %q", tr.TokenType)
	}
	if !validHeaderValue(tr.AccessToken) {
		return nil, errors.New("vipps: get access token: access_token contains characters not allowed in an HTTP header")
	}
	now := c.cfg.Now()
	lifetime := time.Duration(tr.ExpiresIn) * time.Second
	if lifetime <= 0 && tr.ExpiresOn > 0 {
		lifetime = time.Unix(int64(tr.ExpiresOn), 0).Sub(now)
	}
	if lifetime <= 0 {
		lifetime = tokenDefaultLifetime
	}
	margin := min(tokenRefreshMargin, lifetime/10)
	return &cachedToken{
		value:     tr.AccessToken,
		obtained:  now,
		expires:   now.Add(lifetime),
		refreshAt: now.Add(lifetime - margin),
	}, nil
}
