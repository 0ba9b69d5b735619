package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// Outbox job kinds.
const (
	// JobReceipt posts the order's receipt to Order Management.
	JobReceipt = "receipt"
	// JobRefresh re-reads a payment after a webhook that could not be
	// processed at once.
	JobRefresh = "refresh"
	// JobOperation finishes a merchant operation (capture, cancel, refund)
	// whose outcome is unknown, with its stored Idempotency-Key.
	JobOperation = "operation"
)

const (
	workerTick  = time.Second
	jobLease    = time.Minute
	jobBatch    = 32
	maxAttempts = 25
)

// RunWorker runs outbox jobs until ctx ends. Jobs are claimed with a lease in
// the store, so two workers (for instance during a config reload) never run
// the same job at once, and a job whose worker died is run again after the
// lease. Every job is idempotent at Vipps (stored keys, "already exists"
// counts as done), which makes it exactly-once from the merchant's view.
func (s *Service) RunWorker(ctx context.Context) {
	s.every(ctx, workerTick, "outbox", jobBatch, s.RunJobsOnce)
}

// jobParallel is how many orders' jobs run at once: each job waits on
// Vipps and on a synced write, so one at a time would let the outbox fall
// behind a busy shop's orders.
const jobParallel = 8

// RunJobsOnce claims and runs the jobs that are due, returning how many it
// claimed. Jobs of different orders run side by side (jobParallel at a
// time); one order's jobs run one after the other, in the order they were
// claimed.
func (s *Service) RunJobsOnce(ctx context.Context) (int, error) {
	jobs, err := s.store.ClaimJobs(s.now(), jobLease, jobBatch)
	if err != nil {
		return 0, err
	}
	var refs []string
	byRef := map[string][]state.Job{}
	for _, j := range jobs {
		if _, ok := byRef[j.Ref]; !ok {
			refs = append(refs, j.Ref)
		}
		byRef[j.Ref] = append(byRef[j.Ref], j)
	}
	sem := make(chan struct{}, jobParallel)
	var wg sync.WaitGroup
	for _, ref := range refs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, j := range byRef[ref] {
				if ctx.Err() != nil {
					// Unfinished jobs are run again when their lease ends.
					return
				}
				s.finishJob(j, s.runJob(ctx, j))
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return len(jobs), nil
}

func (s *Service) finishJob(j state.Job, err error) {
	switch {
	case err == nil:
		if cerr := s.store.CompleteJob(j); cerr != nil {
			s.log.Error("completing outbox job", zap.String("job", j.ID), zap.Error(cerr))
		}
	case j.Kind == JobOperation && !isPermanent(err):
		// Money in doubt is never given up on: the operation is settled
		// from Vipps' event log as soon as Vipps answers, however long
		// that takes (hourly after the first day).
		s.retryJob(j, err)
	case j.Attempts >= maxAttempts || isPermanent(err) || (j.Kind == JobBuyerDetails && j.Attempts >= detailsMaxAttempts):
		s.log.Error("outbox job gave up", zap.String("job", j.ID), zap.String("kind", j.Kind), zap.String("reference", j.Ref), zap.Error(err))
		if j.Kind == JobReceipt {
			_ = s.setReceipt(j.Ref, ReceiptFailed, err.Error())
		}
		if j.Kind == JobBuyerDetails {
			s.detailsUnavailable(j.Ref)
		}
		if derr := s.store.DeadJob(j, err); derr != nil {
			s.log.Error("burying outbox job", zap.String("job", j.ID), zap.Error(derr))
		}
	default:
		s.retryJob(j, err)
	}
}

func (s *Service) retryJob(j state.Job, err error) {
	next := s.now().Add(state.Backoff(j.Attempts))
	s.log.Info("outbox job will retry", zap.String("job", j.ID), zap.String("kind", j.Kind), zap.String("reference", j.Ref), zap.Int("attempt", j.Attempts), zap.Error(err))
	if rerr := s.store.RetryJob(j, err, next); rerr != nil {
		s.log.Error("rescheduling outbox job", zap.String("job", j.ID), zap.Error(rerr))
	}
}

func isPermanent(err error) bool {
	var rejected *RejectedError
	return errors.As(err, &rejected) || errors.Is(err, ErrNotFound)
}

func (s *Service) runJob(ctx context.Context, j state.Job) error {
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch j.Kind {
	case JobReceipt:
		return s.postReceipt(callCtx, j.Ref)
	case JobCategory:
		var p struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return &RejectedError{Op: "category", Err: err}
		}
		err := s.vipps.PutCategory(callCtx, vipps.PaymentTypeEcom, j.Ref, vipps.Category{Category: vipps.CategoryDelivery, OrderDetailsURL: p.URL})
		return s.classify("category", err)
	case JobNotify:
		return s.notify(callCtx, j)
	case JobBuyerDetails:
		return s.fetchDetails(callCtx, j.Ref)
	case JobRefresh:
		_, err := s.Refresh(callCtx, j.Ref, state.SourceWorker)
		return err
	case JobOperation:
		return s.finishOperation(callCtx, j.Ref, string(j.Payload), state.SourceWorker)
	case JobAuthorization:
		return s.settleAuthorization(callCtx, j.Ref)
	default:
		return &RejectedError{Op: "job", Err: fmt.Errorf("unknown job kind %q", j.Kind)}
	}
}

// postReceipt sends the order lines to Order Management, once. An answer of
// "already exists" (409) means an earlier attempt landed, which counts as
// done.
func (s *Service) postReceipt(ctx context.Context, ref string) error {
	o, err := s.Order(ref)
	if err != nil {
		return err
	}
	if o.Receipt == ReceiptSent {
		return nil
	}
	err = s.vipps.AddReceipt(ctx, vipps.PaymentTypeEcom, ref, BuildReceipt(o))
	if err != nil && !vipps.IsConflict(err) {
		return s.classify("receipt", err)
	}
	// Not recorded, the job runs again: Vipps then answers that the
	// receipt exists, which counts as done.
	return s.setReceipt(ref, ReceiptSent, "receipt posted to order management")
}

func (s *Service) setReceipt(ref, status, note string) error {
	_, _, err := s.update(ref, state.SourceWorker, func(o *state.Order, tx *state.Tx) error {
		if o.Receipt == status {
			return state.ErrNoChange
		}
		o.Receipt = status
		tx.Note("%s", note)
		return nil
	})
	if err != nil {
		s.log.Error("recording receipt status", zap.String("reference", ref), zap.Error(err))
		return fmt.Errorf("recording the receipt's status: %w", err)
	}
	return nil
}
