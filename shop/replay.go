package shop

import "time"

// replayWindow is how long a handled webhook's signature is remembered:
// longer than the five minutes either way a delivery's date may be off, so
// a captured delivery cannot be played again while its date still passes.
const replayWindow = 11 * time.Minute

// WebhookSeen reports whether a delivery with this signature was handled
// already (by this instance or another on the same database).
func (s *Service) WebhookSeen(signature string) (bool, error) {
	return s.store.SeenSignature(signature)
}

// RememberWebhook remembers the signature of a handled delivery. Vipps
// signs every attempt anew (a fresh date), so its own retries are never
// refused.
func (s *Service) RememberWebhook(signature string) error {
	return s.store.RememberSignature(signature, s.now().Add(replayWindow))
}
