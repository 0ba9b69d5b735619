package vipps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxResponseBody caps how much of an answer from Vipps is read.
const maxResponseBody = 1 << 20

// Client calls the Vipps MobilePay APIs for one sales unit. It is safe for
// concurrent use; create one per sales unit and share it, so that the access
// token is shared too.
type Client struct {
	cfg        Config
	userAgent  string
	tokenGroup singleflight.Group
	// common holds the headers every call carries, built once (see
	// setHeaders); keyed adds the subscription key.
	common, keyed http.Header

	mu    sync.Mutex
	token *cachedToken

	// sleep waits between retries; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks cfg and returns a Client. Errors name the offending field but
// never print credentials.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		userAgent: "caddy-vipps/" + cfg.PluginVersion + " (" + cfg.PluginName + "; " + cfg.SystemName + "/" + cfg.SystemVersion + ")",
		sleep:     sleepContext,
	}
	c.common = http.Header{}
	c.common.Set("Merchant-Serial-Number", cfg.MerchantSerialNumber)
	c.common.Set("Vipps-System-Name", truncateHeader(cfg.SystemName))
	c.common.Set("Vipps-System-Version", truncateHeader(cfg.SystemVersion))
	c.common.Set("Vipps-System-Plugin-Name", truncateHeader(cfg.PluginName))
	c.common.Set("Vipps-System-Plugin-Version", truncateHeader(cfg.PluginVersion))
	c.common.Set("User-Agent", c.userAgent)
	c.common.Set("Accept", "application/json")
	c.keyed = c.common.Clone()
	c.keyed.Set("Ocp-Apim-Subscription-Key", cfg.SubscriptionKey)
	return c, nil
}

// BaseURL returns the base URL the client sends requests to.
func (c *Client) BaseURL() string { return c.cfg.BaseURL }

// MerchantSerialNumber returns the MSN the client acts for.
func (c *Client) MerchantSerialNumber() string { return c.cfg.MerchantSerialNumber }

// call describes one API operation.
type call struct {
	op             string // user-facing name, e.g. "capture payment"
	method         string
	path           string // escaped, starting with "/"
	body           any    // marshalled as JSON when non-nil
	idempotencyKey string
	// replaySafe tells whether the request may be sent again after an
	// ambiguous failure (the server may have acted on it): true for GET,
	// PUT, DELETE and calls carrying an idempotency key.
	replaySafe bool
	// noAuth skips the bearer token (the token call itself).
	noAuth bool
	// noSubscriptionKey leaves out Ocp-Apim-Subscription-Key (the
	// Userinfo API answers 401 to it).
	noSubscriptionKey bool
	// extraHeaders are set after the common headers.
	extraHeaders map[string]string
}

// do runs c with retries and decodes a 2xx JSON answer into out (when out is
// non-nil and the body is not empty).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	var body []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("vipps: %s: encode request: %w", cl.op, err)
		}
		body = b
	}
	refetched := false
	for attempt := 0; ; attempt++ {
		var token string
		if !cl.noAuth {
			t, err := c.Token(ctx)
			if err != nil {
				return err
			}
			token = t
		}
		err := c.send(ctx, cl, body, token, out)
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return contextError(cl.op, ctxErr, err)
		}
		if !cl.noAuth && !refetched && StatusCode(err) == http.StatusUnauthorized {
			// The token may have been revoked or expired early: fetch a
			// fresh one once and repeat the call once.
			refetched = true
			c.dropToken(token)
			attempt--
			continue
		}
		if attempt >= c.cfg.MaxRetries || !retryable(err, cl.replaySafe) {
			return err
		}
		wait := c.backoff(attempt, err)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// The caller's deadline would pass while waiting: report the
			// failure now rather than a bare deadline error later.
			return err
		}
		if sleepErr := c.sleep(ctx, wait); sleepErr != nil {
			return contextError(cl.op, sleepErr, err)
		}
	}
}

// send performs one HTTP exchange. It always reads the answer fully (up to
// the limit) and closes it.
func (c *Client) send(ctx context.Context, cl call, body []byte, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, cl.method, c.cfg.BaseURL+cl.path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("vipps: %s: build request: %w", cl.op, err)
	}
	if body == nil {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		req.ContentLength = 0
	}
	c.setHeaders(req, cl, token, body != nil)
	started := time.Now()
	resp, err := c.cfg.HTTPClient.Do(req)
	if c.cfg.Observe != nil {
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		c.cfg.Observe(cl.op, status, time.Since(started))
	}
	if err != nil {
		return &transportError{op: cl.op, err: redactURLError(err)}
	}
	data, readErr := readBody(resp)
	if errors.Is(readErr, errBodyTooLarge) {
		return fmt.Errorf("vipps: %s: status %d: %w", cl.op, resp.StatusCode, readErr)
	}
	if readErr != nil {
		return &transportError{op: cl.op, err: fmt.Errorf("read response: %w", readErr)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := decodeError(cl.op, resp, data, c.cfg.Now())
		e.redact(c.cfg.ClientSecret, c.cfg.SubscriptionKey, c.cfg.ClientID)
		return e
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("vipps: %s: decode response (status %d): %w", cl.op, resp.StatusCode, err)
		}
	}
	return nil
}

// setHeaders sets the headers every call carries. The common ones are
// built once (New) and copied into a header map made large enough for the
// call's own, so a call neither canonicalises their names again nor grows
// the map; their values are shared between calls, which is safe because
// nothing changes a request's header values in place (Set replaces them).
func (c *Client) setHeaders(req *http.Request, cl call, token string, jsonBody bool) {
	base := c.keyed
	if cl.noSubscriptionKey {
		base = c.common
	}
	h := make(http.Header, len(base)+3+len(cl.extraHeaders))
	for k, v := range base {
		h[k] = v
	}
	req.Header = h
	if token != "" {
		h["Authorization"] = []string{"Bearer " + token}
	}
	if jsonBody {
		h["Content-Type"] = []string{"application/json"}
	}
	if cl.idempotencyKey != "" {
		h["Idempotency-Key"] = []string{cl.idempotencyKey}
	}
	for k, v := range cl.extraHeaders {
		// Set the key as written: Vipps documents client_id and
		// client_secret in lower case with underscores.
		h[k] = []string{v}
	}
}

var errBodyTooLarge = fmt.Errorf("response body exceeds %d bytes", maxResponseBody)

// readBody reads at most maxResponseBody bytes, drains a bounded remainder so
// the connection can be reused, and closes the body.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxResponseBody {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4*maxResponseBody))
		return nil, errBodyTooLarge
	}
	return data, nil
}

// redactURLError drops the URL from a *url.Error: it carries the reference
// but adds nothing, and keeps messages short.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// contextError reports that the caller's context ended, wrapping both the
// context error (for errors.Is) and the last failure, if any.
func contextError(op string, ctxErr, last error) error {
	if last == nil || errors.Is(last, ctxErr) {
		return fmt.Errorf("vipps: %s: %w", op, ctxErr)
	}
	return fmt.Errorf("vipps: %s: %w (last failure: %w)", op, ctxErr, last)
}

// checkIdempotencyKey checks a caller's key.
func checkIdempotencyKey(op, key string) error {
	if key == "" {
		return fmt.Errorf("%w (%s)", ErrMissingIdempotencyKey, op)
	}
	if len(key) > 50 {
		return fmt.Errorf("%w (%s)", ErrInvalidIdempotencyKey, op)
	}
	if !validHeaderValue(key) {
		return argError(op, "idempotency key contains characters not allowed in an HTTP header")
	}
	return nil
}

// pathSegment escapes one path value, rejecting values that are empty or
// would change the path's meaning.
func pathSegment(op, name, value string) (string, error) {
	if value == "" {
		return "", argError(op, name+" is empty")
	}
	if value == "." || value == ".." {
		return "", argError(op, name+" is not a valid path segment")
	}
	return url.PathEscape(value), nil
}
