package state

import (
	"errors"
	"testing"
)

// TestDeriveStatus names every combination of amounts that matters.
func TestDeriveStatus(t *testing.T) {
	a := func(auth, capt, canc, ref int64) Payment {
		return Payment{State: "AUTHORIZED", Authorized: auth, Captured: capt, Cancelled: canc, Refunded: ref}
	}
	tests := []struct {
		p       Payment
		current Status
		want    Status
	}{
		{Payment{}, StatusNew, StatusNew},
		{Payment{}, StatusFailed, StatusFailed},
		{Payment{}, StatusCaptured, StatusNew},
		{Payment{State: "CREATED"}, StatusNew, StatusPending},
		{Payment{State: "CREATED"}, StatusFailed, StatusPending},
		{Payment{State: "ABORTED"}, StatusPending, StatusAborted},
		{Payment{State: "EXPIRED"}, StatusPending, StatusExpired},
		{Payment{State: "TERMINATED", Cancelled: 1000}, StatusPending, StatusCancelled},
		{a(1000, 0, 0, 0), StatusPending, StatusAuthorized},
		{a(1000, 300, 0, 0), StatusAuthorized, StatusPartiallyCaptured},
		// Money still reserved comes first, whatever was refunded.
		{a(1000, 300, 0, 300), StatusRefunded, StatusPartiallyCaptured},
		{a(1000, 300, 0, 100), StatusAuthorized, StatusPartiallyCaptured},
		{a(1000, 0, 1000, 0), StatusAuthorized, StatusCancelled},
		{a(1000, 1000, 0, 0), StatusAuthorized, StatusCaptured},
		{a(1000, 300, 700, 0), StatusPartiallyCaptured, StatusCaptured},
		{a(1000, 300, 700, 100), StatusCaptured, StatusPartiallyRefunded},
		{a(1000, 300, 700, 300), StatusPartiallyRefunded, StatusRefunded},
		// A capture in the portal after everything captured was refunded.
		{a(1000, 1000, 0, 300), StatusRefunded, StatusPartiallyRefunded},
	}
	for _, tt := range tests {
		if got := DeriveStatus(tt.p, tt.current); got != tt.want {
			t.Errorf("DeriveStatus(%+v, %s) = %s, want %s", tt.p, tt.current, got, tt.want)
		}
	}
}

func TestApplyPayment(t *testing.T) {
	auth := Observation{State: "AUTHORIZED", Authorized: 1000}
	tests := []struct {
		name        string
		status      Status
		payment     Payment
		obs         Observation
		wantStatus  Status
		wantChanged bool
		wantErr     bool
	}{
		{"created", StatusNew, Payment{}, Observation{State: "CREATED"}, StatusPending, true, false},
		{"authorized", StatusPending, Payment{State: "CREATED"}, auth, StatusAuthorized, true, false},
		{"duplicate authorized", StatusAuthorized, Payment{State: "AUTHORIZED", Authorized: 1000}, auth, StatusAuthorized, false, false},
		{"stale created after authorized", StatusAuthorized, Payment{State: "AUTHORIZED", Authorized: 1000}, Observation{State: "CREATED"}, StatusAuthorized, false, false},
		{"stale lower capture", StatusCaptured, Payment{State: "AUTHORIZED", Authorized: 1000, Captured: 1000}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 400}, StatusCaptured, false, false},
		{"capture seen before authorize", StatusNew, Payment{}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1000}, StatusCaptured, true, false},
		{"partial capture", StatusAuthorized, Payment{State: "AUTHORIZED", Authorized: 1000}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 300}, StatusPartiallyCaptured, true, false},
		{"capture then release rest", StatusPartiallyCaptured, Payment{State: "AUTHORIZED", Authorized: 1000, Captured: 300}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 300, Cancelled: 700}, StatusCaptured, true, false},
		{"cancel before capture", StatusAuthorized, Payment{State: "AUTHORIZED", Authorized: 1000}, Observation{State: "AUTHORIZED", Authorized: 1000, Cancelled: 1000}, StatusCancelled, true, false},
		{"terminated", StatusPending, Payment{State: "CREATED"}, Observation{State: "TERMINATED", Cancelled: 1000}, StatusCancelled, true, false},
		{"aborted", StatusPending, Payment{State: "CREATED"}, Observation{State: "ABORTED"}, StatusAborted, true, false},
		{"expired", StatusNew, Payment{}, Observation{State: "EXPIRED"}, StatusExpired, true, false},
		{"partial refund", StatusCaptured, Payment{State: "AUTHORIZED", Authorized: 1000, Captured: 1000}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1000, Refunded: 100}, StatusPartiallyRefunded, true, false},
		{"full refund", StatusPartiallyRefunded, Payment{State: "AUTHORIZED", Authorized: 1000, Captured: 1000, Refunded: 100}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1000, Refunded: 1000}, StatusRefunded, true, false},
		// Vipps is the ledger: what the portal did is absorbed, never refused.
		{"portal capture after a full refund", StatusRefunded, Payment{State: "AUTHORIZED", Authorized: 44700, Captured: 14900, Refunded: 14900}, Observation{State: "AUTHORIZED", Authorized: 44700, Captured: 44700, Refunded: 14900}, StatusPartiallyRefunded, true, false},
		{"portal release after a partial refund", StatusPartiallyCaptured, Payment{State: "AUTHORIZED", Authorized: 44700, Captured: 14900, Refunded: 100}, Observation{State: "AUTHORIZED", Authorized: 44700, Captured: 14900, Cancelled: 29800, Refunded: 100}, StatusPartiallyRefunded, true, false},
		{"portal refund seen with a stale capture", StatusCaptured, Payment{State: "AUTHORIZED", Authorized: 1000, Captured: 1000}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 600, Refunded: 500}, StatusPartiallyRefunded, true, false},
		{"conflicting finals", StatusAuthorized, Payment{State: "AUTHORIZED", Authorized: 1000}, Observation{State: "ABORTED"}, StatusAuthorized, false, true},
		{"aborted then authorized", StatusAborted, Payment{State: "ABORTED"}, auth, StatusAborted, false, true},
		{"captured over authorized", StatusAuthorized, Payment{State: "AUTHORIZED", Authorized: 1000}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1001}, StatusAuthorized, false, true},
		{"refund over captured", StatusCaptured, Payment{State: "AUTHORIZED", Authorized: 1000, Captured: 500}, Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 500, Refunded: 600}, StatusCaptured, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Order{Reference: "r", Status: tt.status, Payment: tt.payment}
			before := *o
			changed, err := o.ApplyPayment(tt.obs)
			var ite *IllegalTransitionError
			if tt.wantErr {
				if !errors.As(err, &ite) {
					t.Fatalf("error = %v, want IllegalTransitionError", err)
				}
				if o.Status != before.Status || o.Payment != before.Payment {
					t.Fatal("a refused observation changed the order")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged || o.Status != tt.wantStatus {
				t.Fatalf("changed %v status %s, want %v %s", changed, o.Status, tt.wantChanged, tt.wantStatus)
			}
		})
	}
}
