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

type pendingEvent struct {
	ev        vipps.WebhookEvent
	attempts  int
	firstTry  time.Time
	notBefore time.Time
}

// deliveryQueue holds the events of one payment for one registration, in
// order: a later event waits while an earlier one is failing.
type deliveryQueue struct {
	hookID   string
	ref      string
	events   []*pendingEvent
	held     *pendingEvent // a reordered event, released after the next one
	inFlight bool
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range req.Events {
		n := 0
		for _, h := range s.hooks {
			if h.MSN == msn && slices.Contains(h.Events, e) {
				n++
			}
		}
		if n >= s.opts.WebhookLimitPerEvent {
			writeProblem(w, r, validationErr("events", "Too many webhooks registered for "+e+"."))
			return
		}
	}
	var b [48]byte
	_, _ = crand.Read(b[:])
	h := &hook{ID: uuid.NewString(), MSN: msn, URL: req.URL, Events: slices.Clone(req.Events), Secret: base64.StdEncoding.EncodeToString(b[:])}
	s.hooks[h.ID] = h
	s.hookOrder = append(s.hookOrder, h.ID)
	writeJSON(w, http.StatusCreated, vipps.RegisterWebhookResponse{ID: h.ID, Secret: h.Secret})
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
		s.hookOrder = slices.DeleteFunc(s.hookOrder, func(x string) bool { return x == id })
		for k, q := range s.queues {
			if q.hookID == id {
				delete(s.queues, k)
			}
		}
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
		if !s.opts.SubOnly {
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
		qk := id + "/" + pe.Reference
		q := s.queues[qk]
		if q == nil {
			q = &deliveryQueue{hookID: id, ref: pe.Reference}
			s.queues[qk] = q
		}
		item := &pendingEvent{ev: ev, notBefore: now}
		f := s.takeHookFault()
		mode := ""
		if f != nil {
			mode = f.Mode
		}
		switch mode {
		case "drop":
			s.deliveries = append(s.deliveries, Delivery{HookID: id, URL: h.URL, Reference: ev.Reference, Event: string(ev.Name), Outcome: "dropped", At: now})
			continue
		case "duplicate":
			dup := *item
			q.events = append(q.events, item, &dup)
		case "delay":
			item.notBefore = now.Add(time.Duration(f.Delay))
			q.events = append(q.events, item)
		case "reorder":
			if q.held != nil {
				q.events = append(q.events, q.held)
			}
			q.held = item
			continue
		default:
			q.events = append(q.events, item)
		}
		if q.held != nil {
			q.events = append(q.events, q.held)
			q.held = nil
		}
	}
}

// deliverDue starts a delivery for every queue whose head is due.
func (s *Simulator) deliverDue() {
	s.mu.Lock()
	now := s.clock.Now()
	type job struct {
		q    *deliveryQueue
		h    hook
		item *pendingEvent
	}
	var jobs []job
	for _, q := range s.queues {
		if q.inFlight {
			continue
		}
		if len(q.events) == 0 && q.held != nil && now.Sub(q.held.notBefore) > 5*time.Second {
			// nothing came to reorder with: release the held event
			q.events, q.held = append(q.events, q.held), nil
		}
		if len(q.events) == 0 || q.events[0].notBefore.After(now) {
			continue
		}
		h := s.hooks[q.hookID]
		if h == nil {
			continue
		}
		q.inFlight = true
		jobs = append(jobs, job{q: q, h: *h, item: q.events[0]})
	}
	s.mu.Unlock()
	for _, j := range jobs {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			s.deliver(j.q, j.h, j.item)
		}()
	}
}

func (s *Simulator) deliver(q *deliveryQueue, h hook, item *pendingEvent) {
	body := mustJSON(item.ev)
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
	if item.attempts == 0 {
		item.firstTry = now
	}
	item.attempts++
	d := Delivery{HookID: h.ID, URL: h.URL, Reference: item.ev.Reference, Event: string(item.ev.Name), Attempt: item.attempts, Status: status, Error: errText, At: now}
	q.inFlight = false
	switch {
	case status >= 200 && status < 300:
		d.Outcome = "delivered"
		q.events = q.events[1:]
	case now.Sub(item.firstTry) > 7*24*time.Hour:
		d.Outcome = "given-up"
		q.events = q.events[1:]
	default:
		d.Outcome = "failed"
		item.notBefore = now.Add(retryDelay(item.attempts))
		s.log.Debug("webhook delivery failed", zap.String("event", d.Event), zap.Int("status", status), zap.Int("attempt", item.attempts))
	}
	s.deliveries = append(s.deliveries, d)
	if len(s.deliveries) > 10000 {
		s.deliveries = s.deliveries[len(s.deliveries)-5000:]
	}
}
