package sim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// PaymentView is a payment as the control API shows it.
type PaymentView struct {
	MSN          string               `json:"msn"`
	Reference    string               `json:"reference"`
	State        vipps.PaymentState   `json:"state"`
	Amount       vipps.Amount         `json:"amount"`
	Aggregate    vipps.Aggregate      `json:"aggregate"`
	PSPReference string               `json:"pspReference"`
	ReturnURL    string               `json:"returnUrl,omitempty"`
	Description  string               `json:"paymentDescription,omitempty"`
	Phone        bool                 `json:"customerPhoneGiven"`
	CreatedAt    time.Time            `json:"createdAt"`
	Events       []vipps.PaymentEvent `json:"events"`
}

func (p *payment) control() PaymentView {
	return PaymentView{
		MSN: p.MSN, Reference: p.Req.Reference, State: p.State, Amount: p.total(), Aggregate: p.aggregate(),
		PSPReference: p.PSPReference, ReturnURL: p.Req.ReturnURL, Description: p.Req.PaymentDescription,
		Phone: p.Req.Customer != nil && p.Req.Customer.PhoneNumber != "", CreatedAt: p.CreatedAt, Events: slices.Clone(p.Events),
	}
}

// Payments lists every payment in creation order.
func (s *Simulator) Payments() []PaymentView {
	s.mu.Lock()
	all := make([]*payment, 0, len(s.payments))
	for _, p := range s.payments {
		s.expireLocked(p)
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b *payment) int { return cmp.Compare(a.Seq, b.Seq) })
	out := make([]PaymentView, 0, len(all))
	for _, p := range all {
		out = append(out, p.control())
	}
	s.mu.Unlock()
	return out
}

// Payment returns one payment by reference (any MSN).
func (s *Simulator) Payment(ref string) (PaymentView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.byRef(ref)
	if p == nil {
		return PaymentView{}, false
	}
	return p.control(), true
}

// byRef returns the first payment created with the reference, whatever its
// sales unit, expiring it first if due; call with s.mu held.
func (s *Simulator) byRef(ref string) *payment {
	p := s.refs.earliest(ref)
	if p != nil {
		s.expireLocked(p)
	}
	return p
}

// Approve authorizes a payment as the buyer would in the app, with the
// defaults of ApproveWith.
func (s *Simulator) Approve(ref string) error { return s.act(ref, s.approveLocked) }

// ApproveWith acts as the buyer with choices: who approves, whether they
// share the profile the payment asks for, and which shipping option.
func (s *Simulator) ApproveWith(ref string, a Approval) error {
	return s.act(ref, func(p *payment) *apiError { return s.approveWith(p, a) })
}

// Reject aborts a payment as the buyer would in the app.
func (s *Simulator) Reject(ref string) error { return s.act(ref, s.rejectLocked) }

func (s *Simulator) act(ref string, f func(*payment) *apiError) error {
	s.mu.Lock()
	p := s.byRef(ref)
	var e *apiError
	if p == nil {
		e = notFound(ref)
	} else {
		e = f(p)
	}
	s.mu.Unlock()
	s.wake()
	if e != nil {
		return e
	}
	return nil
}

// Receipts lists every receipt posted to Order Management.
func (s *Simulator) Receipts() []receiptEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]receiptEntry, 0, len(s.receipts))
	for _, e := range s.receipts {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b receiptEntry) int { return strings.Compare(a.OrderID, b.OrderID) })
	return out
}

// Deliveries lists webhook delivery attempts.
func (s *Simulator) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// InjectWebhookFault disturbs the next webhook events.
func (s *Simulator) InjectWebhookFault(f WebhookFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.normalize()
	s.hookFaults = append(s.hookFaults, &f)
}

// Settings are the sales unit's behaviours that can change while the
// simulator runs (POST /_sim/settings).
type Settings struct {
	ProfileDelay    Duration `json:"profile_delay"`
	StrictUserinfo  bool     `json:"strict_userinfo"`
	ExpressDisabled bool     `json:"express_disabled"`
	SubOnly         bool     `json:"sub_only"`
	// PushDisabled makes the sales unit refuse PUSH_MESSAGE payments
	// (5080): it is not approved to skip the landing page.
	PushDisabled bool `json:"push_disabled"`
	// CancelledWithoutKey records the CANCELLED event of a cancel after
	// approval without the request's idempotency key, in the event log and
	// the webhook, as an example event log in Vipps' documentation shows
	// it. Default: the event carries the key, as Vipps' spec says, and as
	// every other event a request causes does.
	CancelledWithoutKey bool `json:"cancelled_without_key"`
}

// Settings returns the current settings.
func (s *Simulator) Settings() Settings { return *s.settings.Load() }

// Configure changes the settings.
func (s *Simulator) Configure(set Settings) { s.settings.Store(&set) }

// Reset forgets every payment, token, webhook registration, receipt,
// category, image and fault, also in the data directory. Settings and the
// clock stay.
func (s *Simulator) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.j.reset()
	s.keepClock()
	s.mu.Unlock()
}

// control serves the /_sim/ API.
func (s *Simulator) control(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_sim")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	fail := func(status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
	decode := func(v any) bool {
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			fail(http.StatusBadRequest, "invalid JSON: "+err.Error())
			return false
		}
		return true
	}
	switch {
	case path == "/payments" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Payments())
	case len(parts) == 2 && parts[0] == "payments" && r.Method == http.MethodGet:
		if v, ok := s.Payment(parts[1]); ok {
			writeJSON(w, http.StatusOK, v)
		} else {
			fail(http.StatusNotFound, "no such payment")
		}
	case len(parts) == 3 && parts[0] == "payments" && r.Method == http.MethodPost && (parts[2] == "approve" || parts[2] == "reject"):
		act := s.Approve
		if parts[2] == "reject" {
			act = s.Reject
		} else if r.ContentLength != 0 {
			var a Approval
			if !decode(&a) {
				return
			}
			act = func(ref string) error { return s.ApproveWith(ref, a) }
		}
		if err := act(parts[1]); err != nil {
			ae := err.(*apiError)
			fail(ae.status, ae.detail)
			return
		}
		v, _ := s.Payment(parts[1])
		writeJSON(w, http.StatusOK, v)
	case path == "/receipts" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Receipts())
	case path == "/clock" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]time.Time{"now": s.clock.Now()})
	case path == "/clock/advance" && r.Method == http.MethodPost:
		var body struct {
			Duration Duration `json:"duration"`
		}
		if !decode(&body) {
			return
		}
		if body.Duration <= 0 {
			fail(http.StatusBadRequest, "duration must be positive, e.g. \"11m\"")
			return
		}
		s.Advance(time.Duration(body.Duration))
		writeJSON(w, http.StatusOK, map[string]time.Time{"now": s.clock.Now()})
	case path == "/faults" && r.Method == http.MethodPost:
		var f Fault
		if !decode(&f) {
			return
		}
		if f.Operation == "" || (f.Status == 0 && f.Delay == 0 && !f.DropAfterCommit) {
			fail(http.StatusBadRequest, "a fault needs an operation and one of status, delay or drop_after_commit")
			return
		}
		s.InjectFault(f)
		writeJSON(w, http.StatusCreated, f)
	case path == "/faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.faults.list())
	case path == "/faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case path == "/webhooks/faults" && r.Method == http.MethodPost:
		var f WebhookFault
		if !decode(&f) {
			return
		}
		if !slices.Contains([]string{"drop", "duplicate", "delay", "reorder"}, f.Mode) {
			fail(http.StatusBadRequest, "mode must be drop, duplicate, delay or reorder")
			return
		}
		s.InjectWebhookFault(f)
		writeJSON(w, http.StatusCreated, f)
	case path == "/webhooks/faults" && r.Method == http.MethodDelete:
		s.mu.Lock()
		s.hookFaults = nil
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case path == "/webhooks/deliveries" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Deliveries())
	case path == "/webhooks" && r.Method == http.MethodGet:
		s.mu.Lock()
		out := make([]hook, 0, len(s.hookOrder))
		for _, id := range s.hookOrder {
			out = append(out, *s.hooks[id])
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case path == "/settings" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Settings())
	case path == "/settings" && r.Method == http.MethodPost:
		set := s.Settings()
		if !decode(&set) {
			return
		}
		if set.ProfileDelay < 0 {
			fail(http.StatusBadRequest, "profile_delay must not be negative")
			return
		}
		s.Configure(set)
		writeJSON(w, http.StatusOK, s.Settings())
	case path == "/stats" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Stats())
	case path == "/reset" && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(http.StatusNotFound, "no such control endpoint; see the simulator's README")
	}
}
