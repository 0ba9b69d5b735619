package sim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestCredentialsBindTokens: a simulator given the shop's credentials
// gives access tokens for them only, so a stranger reads no payment and
// deletes no webhook registration; one without gives tokens to anyone.
func TestCredentialsBindTokens(t *testing.T) {
	e := newEnvWith(t, sim.Options{Credentials: []sim.Credentials{{ClientID: "id", ClientSecret: "secret", SubscriptionKey: "sub-key"}}})
	if _, err := e.client.CreatePayment(context.Background(), "key-1", validCreate("cred-ref-1")); err != nil {
		t.Fatalf("the shop's own credentials: %v", err)
	}
	for _, c := range []vipps.Config{
		{ClientID: "someone", ClientSecret: "secret", SubscriptionKey: "sub-key"},
		{ClientID: "id", ClientSecret: "guess", SubscriptionKey: "sub-key"},
		{ClientID: "id", ClientSecret: "secret", SubscriptionKey: "other-key"},
	} {
		c.BaseURL, c.MerchantSerialNumber, c.RetryBaseDelay = e.srv.URL, "123456", time.Millisecond
		stranger, err := vipps.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stranger.GetPayment(context.Background(), "cred-ref-1"); vipps.StatusCode(err) != http.StatusUnauthorized {
			t.Errorf("credentials %s/%s/%s read the payment: %v", c.ClientID, c.ClientSecret, c.SubscriptionKey, err)
		}
	}
	// More shops on one simulator: each one's credentials are allowed.
	e.sim.AllowCredentials(sim.Credentials{ClientID: "second", ClientSecret: "s2", SubscriptionKey: "k2"})
	second, _ := vipps.New(vipps.Config{BaseURL: e.srv.URL, ClientID: "second", ClientSecret: "s2", SubscriptionKey: "k2", MerchantSerialNumber: "123456", RetryBaseDelay: time.Millisecond})
	if _, err := second.GetPayment(context.Background(), "cred-ref-1"); err != nil {
		t.Fatalf("allowed credentials: %v", err)
	}

	open := newEnv(t)
	anyone, _ := vipps.New(vipps.Config{BaseURL: open.srv.URL, ClientID: "x", ClientSecret: "y", SubscriptionKey: "z", MerchantSerialNumber: "123456"})
	if _, err := anyone.Token(context.Background()); err != nil {
		t.Fatalf("a simulator without credentials refused a token: %v", err)
	}
}
