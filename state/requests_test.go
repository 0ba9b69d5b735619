package state

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestKeyedRequests(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := openTest(t, clock)
	const lease = time.Minute

	rec, fresh, err := s.BeginRequest("erp-ship-1", "fp-a", ref(1), lease)
	if err != nil || !fresh || rec.Answered() {
		t.Fatalf("first begin: %+v fresh %v err %v", rec, fresh, err)
	}
	// While the first request runs: the same key is in flight, another
	// request under it is refused.
	if _, _, err := s.BeginRequest("erp-ship-1", "fp-a", ref(1), lease); !errors.Is(err, ErrKeyInFlight) {
		t.Fatalf("second begin while in flight: %v", err)
	}
	if _, _, err := s.BeginRequest("erp-ship-1", "fp-b", ref(1), lease); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("other body under the key: %v", err)
	}
	if err := s.AnswerRequest("erp-ship-1", Answer{Status: 200, ContentType: "application/json", Body: []byte(`{"ok":true}`), OpID: "op-1"}); err != nil {
		t.Fatal(err)
	}
	rec, fresh, err = s.BeginRequest("erp-ship-1", "fp-a", ref(1), lease)
	if err != nil || fresh || rec.Status != 200 || string(rec.Body) != `{"ok":true}` || rec.OpID != "op-1" {
		t.Fatalf("replay: %+v fresh %v err %v", rec, fresh, err)
	}
	if _, _, err := s.BeginRequest("erp-ship-1", "fp-b", ref(1), lease); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("other body after the answer: %v", err)
	}
	// Kept for a day, then the key is free again.
	clock.Advance(RequestKeyTTL - time.Second)
	if rec, fresh, _ := s.BeginRequest("erp-ship-1", "fp-a", ref(1), lease); fresh || rec.Status != 200 {
		t.Fatalf("replay before the day is over: %+v fresh %v", rec, fresh)
	}
	clock.Advance(2 * time.Second)
	if rec, fresh, err := s.BeginRequest("erp-ship-1", "fp-b", ref(2), lease); err != nil || !fresh || rec.Answered() {
		t.Fatalf("after a day: %+v fresh %v err %v", rec, fresh, err)
	}

	// A request whose process died restarts after the lease; one that was
	// refused before anything happened can be forgotten.
	if _, fresh, _ := s.BeginRequest("erp-cancel-9", "fp", ref(3), lease); !fresh {
		t.Fatal("not fresh")
	}
	clock.Advance(lease + time.Second)
	if _, fresh, err := s.BeginRequest("erp-cancel-9", "fp", ref(3), lease); err != nil || !fresh {
		t.Fatalf("after the lease: fresh %v err %v", fresh, err)
	}
	if err := s.ForgetRequest("erp-cancel-9"); err != nil {
		t.Fatal(err)
	}
	if _, fresh, err := s.BeginRequest("erp-cancel-9", "other", ref(3), lease); err != nil || !fresh {
		t.Fatalf("after forgetting: fresh %v err %v", fresh, err)
	}
}

// TestKeyedRequestsRace: of many concurrent requests with one key, exactly
// one starts.
func TestKeyedRequestsRace(t *testing.T) {
	s := openTest(t, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	started, inFlight := 0, 0
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, fresh, err := s.BeginRequest("same-key", "fp", ref(1), time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && fresh:
				started++
			case errors.Is(err, ErrKeyInFlight):
				inFlight++
			default:
				t.Errorf("fresh %v err %v", fresh, err)
			}
		}()
	}
	wg.Wait()
	if started != 1 || inFlight != 31 {
		t.Fatalf("started %d, in flight %d", started, inFlight)
	}
}
