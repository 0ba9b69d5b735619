package sim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestControlAPIAnswersOnlyLocalClientsOrTheToken: the control API, which
// approves payments without money and shows webhook secrets, answers
// clients on a loopback address, and others only with the control token;
// the landing page and the Vipps API stay open to buyers and shops.
func TestControlAPIAnswersOnlyLocalClientsOrTheToken(t *testing.T) {
	s := sim.New(sim.Options{ControlToken: "control-token-for-tests"})
	defer s.Close()
	if s.ControlToken() != "control-token-for-tests" {
		t.Fatalf("control token %q", s.ControlToken())
	}
	serve := func(remote, path string, headers map[string]string) (int, string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = remote
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	bearer := func(token string) map[string]string { return map[string]string{"Authorization": "Bearer " + token} }
	for _, c := range []struct {
		name, remote, path string
		headers            map[string]string
		status             int
	}{
		{"loopback", "127.0.0.1:5000", "/_sim/payments", nil, 200},
		{"loopback IPv6", "[::1]:5000", "/_sim/webhooks", nil, 200},
		{"another machine", "192.0.2.10:5000", "/_sim/payments", nil, 403},
		{"another machine, approving", "192.0.2.10:5000", "/_sim/payments/x/approve", nil, 403},
		{"another machine with the token", "192.0.2.10:5000", "/_sim/payments", bearer("control-token-for-tests"), 200},
		{"another machine with a wrong token", "192.0.2.10:5000", "/_sim/webhooks", bearer("guess"), 403},
		{"through a proxy on this machine", "127.0.0.1:5000", "/_sim/payments", map[string]string{"X-Forwarded-For": "192.0.2.10"}, 403},
		{"through a proxy, with the token", "127.0.0.1:5000", "/_sim/payments", map[string]string{"Forwarded": "for=192.0.2.10", "Authorization": "Bearer control-token-for-tests"}, 200},
		{"the landing page", "192.0.2.10:5000", "/landing?token=nope", nil, 404},
		{"the Vipps API", "192.0.2.10:5000", "/epayment/v1/payments/x", nil, 401},
	} {
		status, body := serve(c.remote, c.path, c.headers)
		if status != c.status {
			t.Fatalf("%s: %d %s, want %d", c.name, status, body, c.status)
		}
		if status == 403 && !strings.Contains(body, "control token") {
			t.Fatalf("%s: the refusal does not say what to do: %s", c.name, body)
		}
	}
	// Without a token in the options, each simulator makes its own.
	a, b := sim.New(sim.Options{}), sim.New(sim.Options{})
	defer a.Close()
	defer b.Close()
	if len(a.ControlToken()) < 32 || a.ControlToken() == b.ControlToken() {
		t.Fatalf("generated tokens %q and %q", a.ControlToken(), b.ControlToken())
	}
}
