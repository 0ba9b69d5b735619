package state

import (
	"errors"
	"testing"
)

// TestCanTransitionEveryPair checks the table over every pair of statuses.
func TestCanTransitionEveryPair(t *testing.T) {
	allowed := map[[2]Status]bool{}
	add := func(from Status, to ...Status) {
		for _, s := range to {
			allowed[[2]Status{from, s}] = true
		}
	}
	vippsOutcomes := []Status{StatusAuthorized, StatusPartiallyCaptured, StatusCaptured, StatusPartiallyRefunded, StatusRefunded, StatusCancelled, StatusAborted, StatusExpired}
	add(StatusNew, append([]Status{StatusPending, StatusFailed}, vippsOutcomes...)...)
	add(StatusFailed, append([]Status{StatusPending}, vippsOutcomes...)...)
	add(StatusPending, vippsOutcomes...)
	add(StatusAuthorized, StatusPartiallyCaptured, StatusCaptured, StatusPartiallyRefunded, StatusRefunded, StatusCancelled)
	add(StatusPartiallyCaptured, StatusCaptured, StatusPartiallyRefunded, StatusRefunded)
	add(StatusCaptured, StatusPartiallyRefunded, StatusRefunded)
	add(StatusPartiallyRefunded, StatusRefunded)
	for _, s := range AllStatuses {
		add(s, s)
	}
	n := 0
	for _, from := range AllStatuses {
		for _, to := range AllStatuses {
			n++
			want := allowed[[2]Status{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if n != len(AllStatuses)*len(AllStatuses) || len(AllStatuses) != 11 {
		t.Fatalf("checked %d pairs of %d statuses", n, len(AllStatuses))
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
