package vipps_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// A webhook delivery is checked against the raw body with the secret
// returned by RegisterWebhook. This one is the documented test vector; the
// verifier's clock is set to its date.
func ExampleWebhookVerifier() {
	body := `{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}`
	r := httptest.NewRequest(http.MethodPost, "https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63", strings.NewReader(body))
	r.Header.Set("x-ms-date", "Thu, 30 Mar 2023 08:38:32 GMT")
	r.Header.Set("x-ms-content-sha256", "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=")
	r.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=")

	v := vipps.WebhookVerifier{
		Secret: "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==",
		Now:    func() time.Time { return time.Date(2023, 3, 30, 8, 39, 0, 0, time.UTC) },
	}
	fmt.Println(v.Verify(r, []byte(body)))

	err := v.Verify(r, []byte(strings.Replace(body, "hello", "jello", 1)))
	fmt.Println(errors.Is(err, vipps.ErrWebhookContentHash))
	// Output:
	// <nil>
	// true
}

// Errors from Vipps carry the HTTP status and the ePayment ErrorCode.
func ExampleErrorCode() {
	var err error = &vipps.Error{StatusCode: 400, ErrorCode: "6090", Title: "Capture amount too high", Operation: "capture payment", TraceID: "00-abc-01"}
	switch {
	case vipps.ErrorCode(err) == "6090":
		fmt.Println("capture less")
	case vipps.IsTransient(err):
		fmt.Println("try again later with the same idempotency key")
	}
	fmt.Println(err)
	// Output:
	// capture less
	// vipps: capture payment: status 400, code 6090: Capture amount too high [traceId 00-abc-01]
}
