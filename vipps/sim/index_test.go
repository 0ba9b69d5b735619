package sim

import (
	"testing"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestRefIndexKeepsTheEarliest: the index answers the earliest created
// payment with a reference, whatever order payments are added (a restore
// adds them in any order) and removed in.
func TestRefIndexKeepsTheEarliest(t *testing.T) {
	mk := func(seq int64, msn string) *payment {
		return &payment{Seq: seq, MSN: msn, Req: vipps.CreatePaymentRequest{Reference: "shared-ref-1"}}
	}
	a, b, c := mk(1, "111111"), mk(2, "222222"), mk(3, "333333")
	x := newRefIndex()
	for _, p := range []*payment{b, c, a} {
		x.add(p)
	}
	if got := x.earliest("shared-ref-1"); got != a {
		t.Fatalf("earliest %v, want the first created", got.MSN)
	}
	x.remove(a)
	if got := x.earliest("shared-ref-1"); got != b {
		t.Fatalf("after removing the first: %v", got.MSN)
	}
	x.remove(c)
	if got := x.earliest("shared-ref-1"); got != b || len(x.more) != 0 {
		t.Fatalf("after removing the last: %v, more %v", got.MSN, x.more)
	}
	x.remove(b)
	if x.earliest("shared-ref-1") != nil || len(x.first) != 0 {
		t.Fatal("the index kept a removed payment")
	}
}
