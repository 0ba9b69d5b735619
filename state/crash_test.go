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
// again.
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
	}
}

// TestAcknowledgedOrdersSurviveKill kills a writing process with SIGKILL and
// checks that every order it acknowledged is there after reopening, and
// every create answer it recorded before the next order was acknowledged:
// an answer has no fsync of its own, but goes with the next commit of new
// orders (a crash before that loses it, which costs nothing).
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
	var acked, answered, waiting []string // waiting: answered, no order acknowledged since
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(60 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		var r string
		if _, err := fmt.Sscanf(line, "ACK %s", &r); err == nil {
			acked = append(acked, r)
			answered = append(answered, waiting...)
			waiting = nil
		}
		if _, err := fmt.Sscanf(line, "ANS %s", &r); err == nil {
			waiting = append(waiting, r)
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
	for _, r := range answered {
		if o, err := s.Get(r); err != nil || o.RedirectURL != "https://vipps.example/"+r || o.Payment.State != "CREATED" {
			t.Fatalf("recorded create answer of %s lost after SIGKILL: %+v %v", r, o, err)
		}
	}
	t.Logf("%d acknowledged orders and %d create answers survived SIGKILL", len(acked), len(answered))
}
