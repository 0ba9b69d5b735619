// Package vipps is a typed client for the Vipps MobilePay APIs an online shop
// needs: the access token, ePayment v1 (create, get, event log, capture,
// cancel, refund and the test-only force approve), Order Management v2
// (receipts, categories, get order) and Webhooks v1 (register, list, delete),
// plus verification of signed webhook deliveries. It knows nothing about
// Caddy and can be used on its own.
//
// # Client
//
// Create one Client per sales unit and share it; it is safe for concurrent
// use:
//
//	c, err := vipps.New(vipps.Config{
//		BaseURL:              vipps.TestURL,
//		ClientID:             clientID,
//		ClientSecret:         clientSecret,
//		SubscriptionKey:      subscriptionKey,
//		MerchantSerialNumber: "123456",
//		SystemName:           "caddy",
//		SystemVersion:        "2.11.9",
//	})
//
// Every call sends the subscription key, the merchant serial number, the
// four Vipps-System-* headers and a bearer access token. The token is fetched
// on first use, cached, renewed shortly before it expires (one fetch at a
// time, however many goroutines are waiting), and fetched anew once when a
// call is answered with 401.
//
// Amounts are int64 minor units with a currency: Amount{Currency: vipps.NOK,
// Value: 49900} is 499.00 kroner.
//
// # Idempotency keys and retries
//
// CreatePayment, CapturePayment, CancelPayment and RefundPayment take an
// idempotency key from the caller, and an empty key is an error: the client
// never invents one. Create the key before the call and store it with the
// order, so that the same key is used again after a timeout or a crash, and
// Vipps applies the operation at most once.
//
//	resp, err := c.CreatePayment(ctx, order.CreateKey, vipps.CreatePaymentRequest{
//		Amount:             vipps.Amount{Currency: vipps.NOK, Value: 49900},
//		PaymentMethod:      vipps.PaymentMethod{Type: vipps.PaymentMethodWallet},
//		Reference:          order.Reference,
//		UserFlow:           vipps.UserFlowWebRedirect,
//		ReturnURL:          "https://shop.example/return?order=" + order.ID,
//		PaymentDescription: "Order " + order.ID,
//	})
//
// Transient failures are retried by the client itself: network errors and
// timeouts, and answers 423 (payment locked), 429 (rate limited, honouring
// Retry-After), 500, 502, 503 and 504. Each retry sends the same body and the
// same Idempotency-Key after an exponential backoff with full jitter, at most
// Config.MaxRetries times and never past the caller's context. Other 4xx
// answers are returned at once. Calls without an idempotency key that are
// not safe to repeat (RegisterWebhook, ForceApprove) are retried only after
// 423 and 429, which Vipps sends before acting on a request.
//
// # Errors
//
// A non-2xx answer is returned as an *Error carrying the status, the
// problem details, the trace id and the numeric ePayment ErrorCode:
//
//	_, err := c.CapturePayment(ctx, ref, key, amount)
//	switch {
//	case vipps.ErrorCode(err) == "6090": // capture amount too high
//	case vipps.IsNotFound(err):
//	case vipps.IsTransient(err): // try again later, with the same key
//	}
//
// # Webhooks
//
// Vipps signs each delivery with the secret returned by RegisterWebhook.
// Check it against the raw body before trusting the event:
//
//	func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//		if err != nil {
//			http.Error(w, "bad body", http.StatusBadRequest)
//			return
//		}
//		if err := vipps.VerifyWebhook(h.secret, r, body); err != nil {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		ev, err := vipps.ParseWebhookEvent(body)
//		...
//	}
//
// VerifyWebhook checks the content hash, the HMAC-SHA256 signature over
// method, path and query, date, host and hash (compared in constant time),
// and that the date is within five minutes of now. WebhookVerifier allows a
// different skew and clock. Treat an event as a signal: read the payment
// with GetPayment before acting on money.
package vipps
