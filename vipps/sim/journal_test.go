package sim

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestJournalCompactsWhileRunning: once the segment being written grows
// past compactAfter, the simulator starts a new one and folds the old ones
// into a base in the background; the directory stays small and a restart
// finds every record as last written.
func TestJournalCompactsWhileRunning(t *testing.T) {
	old := compactAfter
	compactAfter = 8 << 10
	defer func() { compactAfter = old }()
	dir := t.TempDir()
	s, err := Open(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	c, err := vipps.New(vipps.Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", SubscriptionKey: "key", MerchantSerialNumber: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 60
	for i := range n {
		ref := fmt.Sprintf("compact-%06d", i)
		_, err := c.CreatePayment(ctx, ref, vipps.CreatePaymentRequest{Amount: vipps.Amount{Currency: "NOK", Value: 10000},
			PaymentMethod: vipps.PaymentMethod{Type: vipps.PaymentMethodWallet}, Reference: ref, UserFlow: vipps.UserFlowWebRedirect,
			ReturnURL: "https://shop.example/return"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Approve(ref); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CapturePayment(ctx, ref, "c-"+ref, vipps.Amount{Currency: "NOK", Value: 10000}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bases, _ := filepath.Glob(filepath.Join(dir, "base-*.jsonl"))
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
	if len(bases) != 1 || len(segs) > 2 {
		t.Fatalf("after compactions: bases %v, segments %v", bases, segs)
	}
	info, err := os.Stat(bases[0])
	if err != nil || info.Size() == 0 {
		t.Fatalf("base %v %v", info, err)
	}

	s, err = Open(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := s.Payments()
	if len(all) != n {
		t.Fatalf("%d payments after the restart, want %d", len(all), n)
	}
	for _, p := range all {
		if p.State != vipps.StateAuthorized || p.Aggregate.CapturedAmount.Value != 10000 || len(p.Events) != 3 {
			t.Fatalf("%s after the restart: %s, captured %d, %d events", p.Reference, p.State, p.Aggregate.CapturedAmount.Value, len(p.Events))
		}
	}
	if st := s.Stats(); st.IdempotencyKeys != 2*n {
		t.Fatalf("%d idempotency keys, want %d", st.IdempotencyKeys, 2*n)
	}
}

// readJournal opens the journal in dir, collecting its records as apply
// should, and how many lines it read.
func readJournal(t *testing.T, dir string) (*journal, map[string]string, int) {
	t.Helper()
	got, lines := map[string]string{}, 0
	j, err := openJournal(dir, zap.NewNop(), func(l jline) error {
		lines++
		switch {
		case l.T == recReset:
			clear(got)
		case l.Del:
			delete(got, l.T+"/"+l.ID)
		default:
			got[l.T+"/"+l.ID] = string(l.V)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return j, got, lines
}

// TestJournalLastLineWins: a record written several times and then
// deleted, and a reset, come back as the last line says; the compaction
// keeps only the last line of each live record.
func TestJournalLastLineWins(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := readJournal(t, dir)
	j.put("a", "1", 1)
	j.put("a", "1", 2)
	j.put("a", "2", 3)
	j.del("a", "2")
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	j, got, lines := readJournal(t, dir)
	if len(got) != 1 || got["a/1"] != "2" || lines != 4 {
		t.Fatalf("records %v from %d lines, want a/1 = 2 from 4", got, lines)
	}
	j.reset()
	j.put("b", "1", "x")
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	j, got, lines = readJournal(t, dir) // the base holds a/1, then the reset
	if len(got) != 1 || got["b/1"] != `"x"` || lines != 3 {
		t.Fatalf("after a reset: %v from %d lines", got, lines)
	}
	_ = j.close()
	j, got, lines = readJournal(t, dir) // the base holds b/1 alone
	_ = j.close()
	if len(got) != 1 || lines != 1 {
		t.Fatalf("after the compaction: %v from %d lines", got, lines)
	}
}
