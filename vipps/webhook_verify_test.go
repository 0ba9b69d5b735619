package vipps

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The official test vector (vipps-api.md §4.4).
const (
	vecSecret = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A=="
	vecURL    = "https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63"
	vecBody   = `{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}`
	vecDate   = "Thu, 30 Mar 2023 08:38:32 GMT"
	vecHash   = "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
	vecAuth   = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="
)

var vecTime = time.Date(2023, 3, 30, 8, 38, 32, 0, time.UTC)

// vectorRequest builds the delivery of the test vector; mod may change it.
func vectorRequest(mod func(r *http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, vecURL, strings.NewReader(vecBody))
	r.Header.Set("x-ms-date", vecDate)
	r.Header.Set("x-ms-content-sha256", vecHash)
	r.Header.Set("Authorization", vecAuth)
	r.Header.Set("Content-Type", "application/json")
	if mod != nil {
		mod(r)
	}
	return r
}

func vectorVerifier(now time.Time) *WebhookVerifier {
	return &WebhookVerifier{Secret: vecSecret, Now: func() time.Time { return now }}
}

func TestWebhookTestVectorVerifies(t *testing.T) {
	if ContentHash([]byte(vecBody)) != vecHash {
		t.Fatalf("content hash = %s", ContentHash([]byte(vecBody)))
	}
	r := vectorRequest(nil)
	if r.Host != "webhook.site" || r.URL.RequestURI() != "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63" {
		t.Fatalf("host %q uri %q", r.Host, r.URL.RequestURI())
	}
	if err := vectorVerifier(vecTime.Add(time.Minute)).Verify(r, []byte(vecBody)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestWebhookVectorTampering(t *testing.T) {
	now := vecTime.Add(30 * time.Second)
	oneByte := func(s string) string {
		b := []byte(s)
		b[len(b)/2] ^= 0x01
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		body   string
		secret string
		mod    func(r *http.Request)
		want   error
	}{
		{name: "body changed", body: oneByte(vecBody), want: ErrWebhookContentHash},
		{
			// A forger who also fixes the hash header still fails the
			// signature.
			name: "body and hash changed", body: oneByte(vecBody),
			mod:  func(r *http.Request) { r.Header.Set("x-ms-content-sha256", ContentHash([]byte(oneByte(vecBody)))) },
			want: ErrWebhookSignature,
		},
		{name: "date changed", mod: func(r *http.Request) { r.Header.Set("x-ms-date", "Thu, 30 Mar 2023 08:38:33 GMT") }, want: ErrWebhookSignature},
		{name: "path changed", mod: func(r *http.Request) { r.URL.Path = "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a64" }, want: ErrWebhookSignature},
		{name: "query added", mod: func(r *http.Request) { r.URL.RawQuery = "a=1" }, want: ErrWebhookSignature},
		{name: "host changed", mod: func(r *http.Request) { r.Host = "webhook.sitf" }, want: ErrWebhookSignature},
		{name: "host with port", mod: func(r *http.Request) { r.Host = "webhook.site:8443" }, want: ErrWebhookSignature},
		{name: "secret changed", secret: oneByte(vecSecret), want: ErrWebhookSignature},
		{name: "signature changed", mod: func(r *http.Request) { r.Header.Set("Authorization", oneByte(vecAuth)) }, want: ErrWebhookSignature},
		{name: "signature truncated", mod: func(r *http.Request) { r.Header.Set("Authorization", vecAuth[:len(vecAuth)-1]) }, want: ErrWebhookSignature},
		{name: "method GET", mod: func(r *http.Request) { r.Method = http.MethodGet }, want: ErrWebhookMethod},
		{name: "method PUT", mod: func(r *http.Request) { r.Method = http.MethodPut }, want: ErrWebhookMethod},
		{name: "no date", mod: func(r *http.Request) { r.Header.Del("x-ms-date") }, want: ErrWebhookMissingHeaders},
		{name: "no hash", mod: func(r *http.Request) { r.Header.Del("x-ms-content-sha256") }, want: ErrWebhookMissingHeaders},
		{name: "no authorization", mod: func(r *http.Request) { r.Header.Del("Authorization") }, want: ErrWebhookMissingHeaders},
		{name: "no host", mod: func(r *http.Request) { r.Host = "" }, want: ErrWebhookMissingHeaders},
		{name: "bad date", mod: func(r *http.Request) { r.Header.Set("x-ms-date", "2023-03-30T08:38:32Z") }, want: ErrWebhookBadDate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := vecBody
			if tc.body != "" {
				body = tc.body
			}
			v := vectorVerifier(now)
			if tc.secret != "" {
				v.Secret = tc.secret
			}
			err := v.Verify(vectorRequest(tc.mod), []byte(body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWebhookDateSkew(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offset  time.Duration
		maxSkew time.Duration
		want    error
	}{
		{"4m59s late", 4*time.Minute + 59*time.Second, 0, nil},
		{"5m1s late", 5*time.Minute + time.Second, 0, ErrWebhookStale},
		{"a day late", 24 * time.Hour, 0, ErrWebhookStale},
		{"5m1s early (future date)", -(5*time.Minute + time.Second), 0, ErrWebhookStale},
		{"4m early", -4 * time.Minute, 0, nil},
		{"custom skew", 2 * time.Minute, time.Minute, ErrWebhookStale},
		{"skew check off", 1000 * time.Hour, -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := vectorVerifier(vecTime.Add(tc.offset))
			v.MaxSkew = tc.maxSkew
			err := v.Verify(vectorRequest(nil), []byte(vecBody))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The package-level form uses the real clock: the 2023 vector is stale.
	if err := VerifyWebhook(vecSecret, vectorRequest(nil), []byte(vecBody)); !errors.Is(err, ErrWebhookStale) {
		t.Fatalf("VerifyWebhook(old vector) = %v, want ErrWebhookStale", err)
	}
}

func TestWebhookVippsAuthorizationFallback(t *testing.T) {
	now := vecTime
	r := vectorRequest(func(r *http.Request) {
		r.Header.Del("Authorization")
		r.Header.Set(HeaderVippsAuthorization, vecAuth)
	})
	if err := vectorVerifier(now).Verify(r, []byte(vecBody)); err != nil {
		t.Fatalf("fallback header: %v", err)
	}
	// When both are present, Authorization decides.
	r = vectorRequest(func(r *http.Request) {
		r.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA")
		r.Header.Set(HeaderVippsAuthorization, vecAuth)
	})
	if err := vectorVerifier(now).Verify(r, []byte(vecBody)); !errors.Is(err, ErrWebhookSignature) {
		t.Fatalf("both headers: %v", err)
	}
}

func TestWebhookNoSecret(t *testing.T) {
	if err := VerifyWebhook("", vectorRequest(nil), []byte(vecBody)); !errors.Is(err, ErrWebhookNoSecret) {
		t.Fatalf("err = %v", err)
	}
}

// TestWebhookRoundTrip signs a delivery as Vipps does, sends it over HTTP to
// a real server (with a path and query) and verifies it there.
func TestWebhookRoundTrip(t *testing.T) {
	const secret = "090a478d-37ff-4e77-970e-d457aeb26a3a"
	results := make(chan error, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			results <- err
			return
		}
		err = VerifyWebhook(secret, r, body)
		if err == nil {
			_, err = ParseWebhookEvent(body)
		}
		results <- err
	}))
	defer srv.Close()

	body := []byte(`{"msn":"123456","reference":"order-1234","pspReference":"p-1","name":"AUTHORIZED","amount":{"currency":"NOK","value":49900},"timestamp":"2026-01-19T16:26:32.099Z","idempotencyKey":"k","success":true}`)
	send := func(secret string) error {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/hooks/vipps?shop=a%20b", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		SignWebhookRequest(req, secret, body, time.Now())
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return <-results
	}
	if err := send(secret); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if err := send("another-secret"); !errors.Is(err, ErrWebhookSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestParseWebhookEvent(t *testing.T) {
	ev, err := ParseWebhookEvent([]byte(`{"merchantSerialNumber":"654321","reference":"order-1","pspReference":"p","name":"CAPTURED","amount":{"currency":"NOK","value":100},"timestamp":"2026-01-19T16:26:32.099Z","success":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.MSN != "654321" || ev.Reference != "order-1" || ev.Name != EventCaptured || ev.Amount.Value != 100 || !ev.Success ||
		!ev.Timestamp.Equal(time.Date(2026, 1, 19, 16, 26, 32, 99e6, time.UTC)) {
		t.Fatalf("event = %+v", ev)
	}
	ev, err = ParseWebhookEvent([]byte(`{"msn":"123456","reference":"order-1","name":"AUTHORIZED","amount":{"currency":"NOK","value":1},"timestamp":"2026-01-19T16:26:32Z","success":false}`))
	if err != nil || ev.MSN != "123456" || ev.Success {
		t.Fatalf("event = %+v, %v", ev, err)
	}
	for _, bad := range []string{``, `not json`, `{"name":"AUTHORIZED"}`, `{"reference":"order-1"}`, `{"reference":"x","name":"AUTHORIZED","amount":"lots"}`} {
		if ev, err := ParseWebhookEvent([]byte(bad)); err == nil {
			t.Errorf("ParseWebhookEvent(%q) = %+v, want error", bad, ev)
		}
	}
}

// FuzzVerifyWebhook: verification never panics and never accepts a delivery
// that was not signed with the secret.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add([]byte(`{"reference":"x"}`), "Thu, 30 Mar 2023 08:38:32 GMT", "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=", "/hook?a=b")
	f.Add([]byte{}, "", "", "", "/")
	f.Fuzz(func(t *testing.T, body []byte, date, hash, auth, path string) {
		r, err := http.NewRequest(http.MethodPost, "http://shop.example"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set(HeaderMSDate, date)
		r.Header.Set(HeaderMSContentSHA256, hash)
		r.Header.Set("Authorization", auth)
		v := WebhookVerifier{Secret: "fuzz-secret", MaxSkew: -1}
		if err := v.Verify(r, body); err == nil {
			want := WebhookAuthorization(WebhookSignature("fuzz-secret", http.MethodPost, r.URL.RequestURI(), date, r.Host, ContentHash(body)))
			if auth != want || hash != ContentHash(body) {
				t.Fatalf("accepted a delivery not signed with the secret")
			}
		}
	})
}

func BenchmarkVerifyWebhook(b *testing.B) {
	body := []byte(`{"msn":"123456","reference":"demo-abcdefghijklmnopqrst","pspReference":"1","name":"AUTHORIZED","amount":{"currency":"NOK","value":49700},"timestamp":"2026-01-19T16:26:32.099Z","success":true}`)
	req := httptest.NewRequest(http.MethodPost, "https://shop.example/vipps/webhook", bytes.NewReader(body))
	SignWebhookRequest(req, "secret", body, time.Now())
	v := WebhookVerifier{Secret: "secret"}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}
