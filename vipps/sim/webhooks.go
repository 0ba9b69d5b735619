package sim

import (
	"bytes"
	crand "crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// hook is a webhook registration.
type hook struct {
	ID     string   `json:"id"`
	MSN    string   `json:"msn"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
}

// Delivery is one attempt to deliver a webhook, for the control API.
type Delivery struct {
	HookID    string    `json:"hook_id"`
	URL       string    `json:"url"`
	Reference string    `json:"reference"`
	Event     string    `json:"event"`
	Attempt   int       `json:"attempt"`
	Status    int       `json:"status"`
	Error     string    `json:"error,omitempty"`
	Outcome   string    `json:"outcome"` // delivered, failed, dropped (by a fault), given-up
	At        time.Time `json:"at"`
}

// WebhookFault disturbs deliveries: drop, duplicate, delay or reorder the
// next Count events (or a Rate fraction of them).
type WebhookFault struct {
	Mode  string   `json:"mode"`
	Delay Duration `json:"delay,omitempty"`
	Budget
}

// pendingEvent is an event waiting in a delivery queue.
type pendingEvent struct {
	Event     vipps.WebhookEvent `json:"event"`
	Attempts  int                `json:"attempts"`
	FirstTry  time.Time          `json:"first_try"`
	NotBefore time.Time          `json:"not_before"`
}

// deliveryQueue holds the events of one payment for one registration, in
// order: a later event waits while an earlier one is failing. A queue
// exists only while it holds something.
type deliveryQueue struct {
	hookID   string
	ref      string
	events   []*pendingEvent
	held     *pendingEvent // a reordered event, released after the next one
	inFlight bool
}

// holdFor is how long a reordered event waits for a later one to overtake
// it before it is delivered anyway.
const holdFor = 5 * time.Second

func queueKey(hookID, ref string) string { return hookID + "/" + ref }

// queue returns the queue for a key of queueKey, or nil; call with s.mu
// held.
func (s *Simulator) queue(key string) *deliveryQueue {
	hookID, ref, _ := strings.Cut(key, "/")
	return s.queues[hookID][ref]
}

// queueFor returns the queue of a registration and reference, making it if
// needed; call with s.mu held.
func (s *Simulator) queueFor(hookID, ref string) *deliveryQueue {
	m := s.queues[hookID]
	if m == nil {
		m = map[string]*deliveryQueue{}
		s.queues[hookID] = m
	}
	q := m[ref]
	if q == nil {
		q = &deliveryQueue{hookID: hookID, ref: ref}
		m[ref] = q
	}
	return q
}

// dropQueue removes a queue and its journal record; call with s.mu held.
func (s *Simulator) dropQueue(hookID, ref string) {
	m := s.queues[hookID]
	if m[ref] == nil {
		return
	}
	delete(m, ref)
	if len(m) == 0 {
		delete(s.queues, hookID)
	}
	s.j.del(recQueue, queueKey(hookID, ref))
}

// settle records a changed queue and sets a timer for what it waits for
// next; a queue left empty is dropped. Call with s.mu held after every
// change to q.
func (s *Simulator) settle(q *deliveryQueue) {
	if s.queues[q.hookID][q.ref] != q {
		return // dropped meanwhile: the registration or the payment is gone
	}
	key := queueKey(q.hookID, q.ref)
	if !q.inFlight {
		switch {
		case len(q.events) > 0:
			s.schedule(q.events[0].NotBefore, timerDeliver, key)
		case q.held != nil:
			s.schedule(q.held.NotBefore.Add(holdFor), timerRelease, key)
		default:
			s.dropQueue(q.hookID, q.ref)
			return
		}
	}
	s.j.put(recQueue, key, q.record())
}

var webhookRetry = []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, time.Minute, 2 * time.Minute}

func retryDelay(attempts int) time.Duration {
	if attempts-1 < len(webhookRetry) {
		return webhookRetry[attempts-1]
	}
	return time.Hour
}

// webhooksAPI serves /webhooks/v1/webhooks.
func (s *Simulator) webhooksAPI(w http.ResponseWriter, r *http.Request, msn string) {
	rest := strings.TrimPrefix(r.URL.Path, "/webhooks/v1/webhooks")
	switch {
	case rest == "" && r.Method == http.MethodPost:
		s.withFaults(w, r, "webhooks", func(w http.ResponseWriter, r *http.Request) { s.registerHook(w, r, msn) })
	case rest == "" && r.Method == http.MethodGet:
		s.withFaults(w, r, "webhooks", func(w http.ResponseWriter, r *http.Request) { s.listHooks(w, msn) })
	case strings.HasPrefix(rest, "/") && r.Method == http.MethodDelete:
		s.withFaults(w, r, "webhooks", func(w http.ResponseWriter, r *http.Request) { s.deleteHook(w, r, msn, rest[1:]) })
	default:
		writeProblem(w, r, domainErr(http.StatusNotFound, "", "Not Found", "no such Webhooks endpoint"))
	}
}

func (s *Simulator) registerHook(w http.ResponseWriter, r *http.Request, msn string) {
	body, aerr := readBody(r)
	if aerr != nil {
		writeProblem(w, r, aerr)
		return
	}
	var req vipps.RegisterWebhookRequest
	if e := decodeStrict(body, &req); e != nil {
		writeProblem(w, r, e)
		return
	}
	u, err := url.Parse(req.URL)
	if req.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		writeProblem(w, r, validationErr("url", "The property is required and must be an absolute http(s) URL."))
		return
	}
	if len(req.Events) == 0 {
		writeProblem(w, r, validationErr("events", "The property is required and cannot be null or empty."))
		return
	}
	for _, e := range req.Events {
		if !slices.Contains(vipps.AllPaymentEventTypes, e) {
			writeProblem(w, r, validationErr("events", "Unknown event type "+e+"."))
			return
		}
	}
	var b [48]byte
	_, _ = crand.Read(b[:])
	h := &hook{ID: uuid.NewString(), MSN: msn, URL: req.URL, Events: slices.Clone(req.Events), Secret: base64.StdEncoding.EncodeToString(b[:])}
	s.mu.Lock()
	for _, e := range req.Events {
		n := 0
		for _, h := range s.hooks {
			if h.MSN == msn && slices.Contains(h.Events, e) {
				n++
			}
		}
		if n >= s.opts.WebhookLimitPerEvent {
			s.mu.Unlock()
			writeProblem(w, r, validationErr("events", "Too many webhooks registered for "+e+"."))
			return
		}
	}
	s.addHook(h)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, vipps.RegisterWebhookResponse{ID: h.ID, Secret: h.Secret})
}

// addHook keeps a registration, after those made before it; call with s.mu
// held.
func (s *Simulator) addHook(h *hook) {
	s.seq++
	s.hooks[h.ID] = h
	s.hookSeq[h.ID] = s.seq
	s.hookOrder = append(s.hookOrder, h.ID)
	s.j.put(recHook, h.ID, hookRecord{hook: *h, Seq: s.seq})
}

func (s *Simulator) listHooks(w http.ResponseWriter, msn string) {
	s.mu.Lock()
	out := vipps.WebhookList{Webhooks: []vipps.Webhook{}}
	for _, id := range s.hookOrder {
		if h := s.hooks[id]; h != nil && h.MSN == msn {
			out.Webhooks = append(out.Webhooks, vipps.Webhook{ID: h.ID, URL: h.URL, Events: h.Events})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) deleteHook(w http.ResponseWriter, r *http.Request, msn, id string) {
	s.mu.Lock()
	h := s.hooks[id]
	if h != nil && h.MSN == msn {
		delete(s.hooks, id)
		delete(s.hookSeq, id)
		s.hookOrder = slices.DeleteFunc(s.hookOrder, func(x string) bool { return x == id })
		for ref := range s.queues[id] {
			s.j.del(recQueue, queueKey(id, ref))
		}
		delete(s.queues, id)
		s.j.del(recHook, id)
	}
	s.mu.Unlock()
	if h == nil || h.MSN != msn {
		writeProblem(w, r, domainErr(http.StatusNotFound, "", "Not Found", "no webhook with id "+id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// takeHookFault returns the webhook fault for the next event, if any; call
// with s.mu held.
func (s *Simulator) takeHookFault() *WebhookFault {
	return takeFrom(&s.hookFaults, func(f *WebhookFault) *Budget { return &f.Budget },
		func(*WebhookFault) bool { return true })
}

// enqueueWebhooks queues an event for every registration subscribed to it;
// call with s.mu held.
func (s *Simulator) enqueueWebhooks(p *payment, pe vipps.PaymentEvent) {
	msn := p.MSN
	ev := vipps.WebhookEvent{
		MSN: msn, Reference: pe.Reference, PSPReference: pe.PSPReference, Name: pe.Name,
		Amount: pe.Amount, Timestamp: pe.Timestamp, IdempotencyKey: pe.IdempotencyKey, Success: pe.Success,
	}
	if pe.Name == vipps.EventAuthorized && s.profileVisible(p) {
		// Since ePayment 1.8.1 the authorized event carries the shared
		// profile too.
		if !s.settings.Load().SubOnly {
			ev.UserDetails = p.userDetails()
		}
		ev.Profile = &vipps.ProfileResponse{Sub: p.Sub}
	}
	now := s.clock.Now()
	for _, id := range s.hookOrder {
		h := s.hooks[id]
		if h.MSN != msn || !slices.Contains(h.Events, pe.Name.WebhookEventType()) {
			continue
		}
		q := s.queueFor(id, pe.Reference)
		item := &pendingEvent{Event: ev, NotBefore: now}
		f := s.takeHookFault()
		mode := ""
		if f != nil {
			mode = f.Mode
		}
		switch mode {
		case "drop":
			s.logDelivery(Delivery{HookID: id, URL: h.URL, Reference: ev.Reference, Event: string(ev.Name), Outcome: "dropped", At: now})
			s.settle(q)
			continue
		case "duplicate":
			dup := *item
			q.events = append(q.events, item, &dup)
		case "delay":
			item.NotBefore = now.Add(time.Duration(f.Delay))
			q.events = append(q.events, item)
		case "reorder":
			if q.held != nil {
				q.events = append(q.events, q.held)
			}
			q.held = item
			s.settle(q)
			continue
		default:
			q.events = append(q.events, item)
		}
		if q.held != nil {
			q.events = append(q.events, q.held)
			q.held = nil
		}
		s.settle(q)
	}
}

// deliveryJob is a delivery to make outside the lock.
type deliveryJob struct {
	q    *deliveryQueue
	h    hook
	item *pendingEvent
}

// dueDelivery starts the delivery of a queue's first event if it is due;
// call with s.mu held.
func (s *Simulator) dueDelivery(key string, now time.Time) (deliveryJob, bool) {
	q := s.queue(key)
	if q == nil || q.inFlight || len(q.events) == 0 {
		return deliveryJob{}, false
	}
	head := q.events[0]
	if head.NotBefore.After(now) {
		s.schedule(head.NotBefore, timerDeliver, key)
		return deliveryJob{}, false
	}
	h := s.hooks[q.hookID]
	if h == nil {
		return deliveryJob{}, false
	}
	q.inFlight = true
	return deliveryJob{q: q, h: *h, item: head}, true
}

// releaseHeld lets a reordered event go once nothing came to overtake it;
// call with s.mu held.
func (s *Simulator) releaseHeld(key string, now time.Time) {
	q := s.queue(key)
	if q == nil || q.held == nil || q.inFlight || len(q.events) > 0 {
		return
	}
	if release := q.held.NotBefore.Add(holdFor); now.Before(release) {
		s.schedule(release, timerRelease, key)
		return
	}
	q.events, q.held = append(q.events, q.held), nil
	s.settle(q)
}

// startDeliveries sends each job on its own goroutine.
func (s *Simulator) startDeliveries(jobs []deliveryJob) {
	for _, j := range jobs {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			s.deliver(j.q, j.h, j.item)
		}()
	}
}

func (s *Simulator) deliver(q *deliveryQueue, h hook, item *pendingEvent) {
	body := mustJSON(item.Event)
	status, errText := 0, ""
	req, err := http.NewRequest(http.MethodPost, h.URL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		vipps.SignWebhookRequest(req, h.Secret, body, time.Now())
		var resp *http.Response
		resp, err = s.opts.HTTPClient.Do(req)
		if err == nil {
			status = resp.StatusCode
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		errText = err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if item.Attempts == 0 {
		item.FirstTry = now
	}
	item.Attempts++
	d := Delivery{HookID: h.ID, URL: h.URL, Reference: item.Event.Reference, Event: string(item.Event.Name), Attempt: item.Attempts, Status: status, Error: errText, At: now}
	q.inFlight = false
	switch {
	case status >= 200 && status < 300:
		d.Outcome = "delivered"
		q.events = q.events[1:]
	case now.Sub(item.FirstTry) > 7*24*time.Hour:
		d.Outcome = "given-up"
		q.events = q.events[1:]
	default:
		d.Outcome = "failed"
		item.NotBefore = now.Add(retryDelay(item.Attempts))
		s.log.Debug("webhook delivery failed", zap.String("event", d.Event), zap.Int("status", status), zap.Int("attempt", item.Attempts))
	}
	s.logDelivery(d)
	s.settle(q)
}

// logDelivery keeps the latest delivery attempts for the control API; call
// with s.mu held.
func (s *Simulator) logDelivery(d Delivery) {
	s.deliveries = append(s.deliveries, d)
	if len(s.deliveries) > 10000 {
		s.deliveries = s.deliveries[len(s.deliveries)-5000:]
	}
}
