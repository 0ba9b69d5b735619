package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

type tokenInfo struct {
	subscriptionKey string
	msn             string
	expires         time.Time
}

// tokenStore holds the access tokens under a lock of its own: every API
// call reads it, and few write it.
type tokenStore struct {
	mu sync.RWMutex
	m  map[string]tokenInfo
}

func (t *tokenStore) get(token string) (tokenInfo, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	info, ok := t.m[token]
	return info, ok
}

func (t *tokenStore) add(token string, info tokenInfo) {
	t.mu.Lock()
	t.m[token] = info
	t.mu.Unlock()
}

// expire drops a token that has expired by now.
func (t *tokenStore) expire(token string, now time.Time) {
	t.mu.Lock()
	if info, ok := t.m[token]; ok && !now.Before(info.expires) {
		delete(t.m, token)
	}
	t.mu.Unlock()
}

func (t *tokenStore) reset() {
	t.mu.Lock()
	t.m = map[string]tokenInfo{}
	t.mu.Unlock()
}

func (t *tokenStore) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

var msnPattern = func(s string) bool {
	if len(s) < 4 || len(s) > 7 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// issueToken serves POST /accesstoken/get. Any non-empty credentials work,
// unless the simulator was given the credentials it accepts
// (Options.Credentials, AllowCredentials).
func (s *Simulator) issueToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeProblem(w, r, domainErr(http.StatusMethodNotAllowed, "", "Method Not Allowed", "use POST"))
		return
	}
	key := r.Header.Get("Ocp-Apim-Subscription-Key")
	if key == "" {
		writeGateway(w, http.StatusUnauthorized, "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.")
		return
	}
	if r.Header.Get("client_id") == "" || r.Header.Get("client_secret") == "" ||
		!s.creds.match(Credentials{ClientID: r.Header.Get("client_id"), ClientSecret: r.Header.Get("client_secret"), SubscriptionKey: key}) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"error":             "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret or client id provided.",
			"error_codes":       []int{7000215},
			"timestamp":         s.clock.Now().Format("2006-01-02 15:04:05Z"),
			"trace_id":          traceID(),
			"correlation_id":    traceID(),
		})
		return
	}
	var b [48]byte
	_, _ = rand.Read(b[:])
	token := "eyJ0eXAiOiJKV1QiLCJhbGciOiJzaW0ifQ." + base64.RawURLEncoding.EncodeToString(b[:])
	now := s.clock.Now()
	exp := now.Add(s.opts.TokenLifetime)
	s.tokens.add(token, tokenInfo{subscriptionKey: key, msn: r.Header.Get("Merchant-Serial-Number"), expires: exp})
	s.mu.Lock()
	s.schedule(exp, timerToken, token)
	s.mu.Unlock()
	secs := strconv.Itoa(int(s.opts.TokenLifetime.Seconds()))
	writeJSON(w, http.StatusOK, map[string]string{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": "0",
		"expires_on":     strconv.FormatInt(exp.Unix(), 10),
		"not_before":     strconv.FormatInt(now.Unix(), 10),
		"resource":       "00000002-0000-0000-c000-000000000000",
		"access_token":   token,
	})
}

// authed checks the headers every API call needs, as the Vipps gateway
// does, then calls next with the sales unit's MSN.
func (s *Simulator) authed(w http.ResponseWriter, r *http.Request, needMSN bool, next func(http.ResponseWriter, *http.Request, string)) {
	key := r.Header.Get("Ocp-Apim-Subscription-Key")
	if key == "" {
		writeGateway(w, http.StatusUnauthorized, "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || bearer == "" {
		writeGateway(w, http.StatusUnauthorized, "Access denied due to missing or invalid access token.")
		return
	}
	info, known := s.tokens.get(bearer)
	if !known || !s.clock.Now().Before(info.expires) {
		writeGateway(w, http.StatusUnauthorized, "Access denied due to invalid or expired access token.")
		return
	}
	if info.subscriptionKey != key {
		writeGateway(w, http.StatusUnauthorized, "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.")
		return
	}
	msn := r.Header.Get("Merchant-Serial-Number")
	if msn == "" || msn == info.msn {
		msn = info.msn // the token's copy: payments then share one string
	}
	if needMSN && r.Header.Get("Merchant-Serial-Number") == "" {
		writeProblem(w, r, validationErr("Merchant-Serial-Number", "The Merchant-Serial-Number header is required."))
		return
	}
	if msn != "" && !msnPattern(msn) {
		writeProblem(w, r, validationErr("Merchant-Serial-Number", "The Merchant-Serial-Number must be 4 to 7 digits."))
		return
	}
	if info.msn != "" && msn != info.msn {
		writeProblem(w, r, domainErr(http.StatusForbidden, "", "Forbidden", "the access token belongs to another merchant serial number"))
		return
	}
	for _, h := range []string{"Vipps-System-Name", "Vipps-System-Version", "Vipps-System-Plugin-Name", "Vipps-System-Plugin-Version"} {
		if len(r.Header.Get(h)) > 30 {
			writeProblem(w, r, validationErr(h, "The header must be at most 30 characters."))
			return
		}
	}
	next(w, r, msn)
}

// credentialSet holds the API keys the simulator accepts; empty, it
// accepts any.
type credentialSet struct {
	mu  sync.RWMutex
	all []Credentials
}

func (c *credentialSet) allow(cr Credentials) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, have := range c.all {
		if have == cr {
			return
		}
	}
	c.all = append(c.all, cr)
}

// match reports whether cr is accepted: every field equal to one allowed
// set's, compared in constant time.
func (c *credentialSet) match(cr Credentials) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.all) == 0 {
		return true
	}
	ok := false
	for _, have := range c.all {
		same := subtle.ConstantTimeCompare([]byte(cr.ClientID), []byte(have.ClientID)) &
			subtle.ConstantTimeCompare([]byte(cr.ClientSecret), []byte(have.ClientSecret)) &
			subtle.ConstantTimeCompare([]byte(cr.SubscriptionKey), []byte(have.SubscriptionKey))
		if same == 1 {
			ok = true
		}
	}
	return ok
}

// AllowCredentials adds API keys the simulator gives access tokens for;
// from the first one on, it gives tokens for no others (see
// Options.Credentials).
func (s *Simulator) AllowCredentials(c Credentials) { s.creds.allow(c) }
