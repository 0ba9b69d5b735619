package state

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

type badgerTxn = badger.Txn

func countPrefix(txn *badger.Txn, prefix string) int {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefix)
	it := txn.NewIterator(opts)
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n
}

// TestHelperProcessWriter is the child of TestAcknowledgedOrdersSurviveKill:
// it creates orders forever and prints each reference after Create returns,
// then records each one's create answer (the unsynced write) and prints it
// again, and for every fourth order prints it a third time after a
// transition of the order returned.
func TestHelperProcessWriter(t *testing.T) {
	dir := os.Getenv("STATE_CRASH_DIR")
	if dir == "" {
		t.Skip("run only as the child of TestAcknowledgedOrdersSurviveKill")
	}
	s, err := OpenBadger(dir, Options{})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		r := ref(i)
		o := newOrder(r, int64(100+i))
		o.Status = StatusPending
		if err := s.Create(o); err != nil {
			fmt.Println("create failed:", err)
			os.Exit(2)
		}
		fmt.Println("ACK", r)
		if err := s.RecordCreated(r, CreateAnswer{RedirectURL: "https://vipps.example/" + r, At: time.Now()}); err != nil {
			fmt.Println("recording the answer failed:", err)
			os.Exit(2)
		}
		fmt.Println("ANS", r)
		if i%4 == 0 {
			// The order's next write, which carries its answer.
			if _, _, err := s.Update(r, SourceWebhook, func(o *Order, tx *Tx) error {
				_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: o.Amount})
				return err
			}); err != nil {
				fmt.Println("update failed:", err)
				os.Exit(2)
			}
			fmt.Println("UPD", r)
		}
	}
}

// TestAcknowledgedOrdersSurviveKill kills a writing process with SIGKILL and
// checks that every order it acknowledged is there after reopening, and
// every create answer whose order's next write returned, which carried it;
// an answer recorded and not yet carried may be lost (it has no fsync of
// its own), which leaves its order pending with its key and its payment
// not known, for the poller to ask Vipps.
func TestAcknowledgedOrdersSurviveKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STATE_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked, answered, updated []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(60 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		var r string
		if _, err := fmt.Sscanf(line, "ACK %s", &r); err == nil {
			acked = append(acked, r)
		}
		if _, err := fmt.Sscanf(line, "ANS %s", &r); err == nil {
			answered = append(answered, r)
		}
		if _, err := fmt.Sscanf(line, "UPD %s", &r); err == nil {
			updated = append(updated, r)
		}
		if len(acked) >= 200 || time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < 50 {
		t.Fatalf("the child acknowledged only %d orders", len(acked))
	}
	s, err := OpenBadger(dir, Options{})
	if err != nil {
		t.Fatalf("reopening after kill: %v", err)
	}
	defer s.Close()
	for _, r := range acked {
		if _, err := s.Get(r); err != nil {
			t.Fatalf("acknowledged order %s lost after SIGKILL: %v", r, err)
		}
	}
	for _, r := range updated {
		if o, err := s.Get(r); err != nil || o.RedirectURL != "https://vipps.example/"+r || o.Payment.State != "AUTHORIZED" {
			t.Fatalf("create answer of %s, carried by its order's transition, lost after SIGKILL: %+v %v", r, o, err)
		}
	}
	kept := 0
	for _, r := range answered {
		o, err := s.Get(r)
		switch {
		case err != nil:
			t.Fatalf("answered order %s: %v", r, err)
		case o.RedirectURL == "https://vipps.example/"+r && o.Payment.State != "":
			kept++
		case o.RedirectURL == "" && o.Payment.State == "" && o.Status == StatusPending && o.CreateKey == "key-"+r:
			// Lost with the process: the poller asks Vipps.
		default:
			t.Fatalf("answered order %s after SIGKILL is neither with its answer nor waiting for the poller: %+v", r, o)
		}
	}
	if len(updated) < 10 {
		t.Fatalf("the child made only %d transitions", len(updated))
	}
	t.Logf("%d acknowledged orders survived SIGKILL; of %d create answers %d were on disk, all %d carried by a transition among them", len(acked), len(answered), kept, len(updated))
}
