package shop

import (
	"context"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestWebhookRegistrationsConverge: a second registration for the shop's
// URL, whose secret the shop does not hold (an instance died between
// registering and storing, or two raced when the database lost the lock),
// delivers every event again with a signature that fails. The first failed
// signature makes the shop look at Vipps again and remove it; the stored
// registration stays.
func TestWebhookRegistrationsConverge(t *testing.T) {
	h := newHarness(t)
	saved := webhookRecheckGap
	webhookRecheckGap = 0
	t.Cleanup(func() { webhookRecheckGap = saved })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.svc.KeepWebhookRegistered(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })

	list := func() []vipps.Webhook {
		hooks, err := h.portal.ListWebhooks(bg)
		if err != nil {
			t.Fatal(err)
		}
		return hooks
	}
	waitFor := func(what string, cond func([]vipps.Webhook) bool) []vipps.Webhook {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			hooks := list()
			if cond(hooks) {
				return hooks
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: registrations %+v", what, hooks)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Registered at Vipps, then its secret stored: wait for both.
	first := waitFor("registered and stored", func(hooks []vipps.Webhook) bool {
		_, stored := h.svc.WebhookSecret()
		return len(hooks) == 1 && stored
	})
	secret, _ := h.svc.WebhookSecret()

	orphan, err := h.portal.RegisterWebhook(bg, h.svc.WebhookURL(), WebhookEvents)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list()); n != 2 {
		t.Fatalf("%d registrations before the failed signature", n)
	}
	// A delivery through the orphan: signed with a secret the shop lacks.
	err = h.svc.VerifyWebhook(func(s string) error {
		if s == orphan.Secret {
			return nil
		}
		return vipps.ErrWebhookSignature
	})
	if err == nil {
		t.Fatal("a delivery signed with an unknown secret was accepted")
	}
	left := waitFor("orphan removed", func(h []vipps.Webhook) bool { return len(h) == 1 })
	if left[0].ID != first[0].ID {
		t.Fatalf("kept %s, want the stored %s", left[0].ID, first[0].ID)
	}
	if s, _ := h.svc.WebhookSecret(); s != secret {
		t.Fatal("the stored secret changed")
	}
	// A delivery with the stored secret passes.
	if err := h.svc.VerifyWebhook(func(s string) error {
		if s == secret {
			return nil
		}
		return vipps.ErrWebhookSignature
	}); err != nil {
		t.Fatal(err)
	}
}
