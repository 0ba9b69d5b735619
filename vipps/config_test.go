package vipps

import (
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{
		BaseURL:              TestURL,
		ClientID:             testClientID,
		ClientSecret:         testClientSecret,
		SubscriptionKey:      testSubKey,
		MerchantSerialNumber: testMSN,
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no base url", func(c *Config) { c.BaseURL = "" }, "BaseURL"},
		{"relative base url", func(c *Config) { c.BaseURL = "/epayment" }, "BaseURL"},
		{"ftp base url", func(c *Config) { c.BaseURL = "ftp://api.vipps.no" }, "BaseURL"},
		{"garbage base url", func(c *Config) { c.BaseURL = "http://[::1" }, "BaseURL"},
		{"base url with query", func(c *Config) { c.BaseURL = "https://api.vipps.no?x=1" }, "BaseURL"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "ClientID"},
		{"no client secret", func(c *Config) { c.ClientSecret = " " }, "ClientSecret"},
		{"no subscription key", func(c *Config) { c.SubscriptionKey = "" }, "SubscriptionKey"},
		{"no msn", func(c *Config) { c.MerchantSerialNumber = "" }, "MerchantSerialNumber"},
		{"secret with newline", func(c *Config) { c.ClientSecret = testClientSecret + "\nX: y" }, "ClientSecret"},
		{"negative delay", func(c *Config) { c.RetryBaseDelay = -time.Second }, "retry delays"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.mod(&cfg)
			c, err := New(cfg)
			if err == nil {
				t.Fatalf("New = %v, want error", c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
			for _, secret := range []string{testClientSecret, testSubKey, testClientID} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error prints a credential: %q", err)
				}
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.MaxRetries != DefaultMaxRetries || c.cfg.RetryBaseDelay != DefaultRetryBaseDelay ||
		c.cfg.RetryMaxDelay != DefaultRetryMaxDelay || c.cfg.Now == nil || c.cfg.PluginName != DefaultPluginName {
		t.Fatalf("defaults not applied: %+v", c.cfg)
	}
	hc := c.cfg.HTTPClient
	if hc == nil || hc.Timeout != 30*time.Second {
		t.Fatalf("default HTTP client = %+v", hc)
	}
	if c.BaseURL() != TestURL || c.MerchantSerialNumber() != testMSN {
		t.Fatalf("BaseURL %q MSN %q", c.BaseURL(), c.MerchantSerialNumber())
	}
	cfg := validConfig()
	cfg.BaseURL = "http://127.0.0.1:9190/"
	c, err = New(cfg)
	if err != nil || c.BaseURL() != "http://127.0.0.1:9190" {
		t.Fatalf("trailing slash: %q, %v", c.BaseURL(), err)
	}
}
