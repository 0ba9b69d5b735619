package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
)

// controlAllowed reports whether r may use the control API, which can
// approve payments without money and read webhook secrets: r comes from a
// loopback address straight (not through a proxy, which would make every
// client look local), or it carries the control token as a bearer token.
// The landing page and the Vipps API paths stay open to everyone.
func (s *Simulator) controlAllowed(r *http.Request) bool {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
		subtle.ConstantTimeCompare([]byte(token), []byte(s.controlToken)) == 1 {
		return true
	}
	return fromLoopback(r)
}

// fromLoopback reports whether r came from this machine without passing a
// proxy.
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
