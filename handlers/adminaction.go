package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// confirmPage asks the merchant to confirm a cancel or a refund, naming the
// amount. Its form repeats the first one's key, so a double click on it
// moves money once, and carries the amount it names (expect): a cancel
// whose reserved amount changed meanwhile is not sent.
type confirmPage struct {
	frame
	Text, Yes string
	Reference string
	Op, Key   string
	Expect    int64
}

// adminAction serves POST {base}/admin/action from the admin page's forms:
// reference, op (ship, cancel, refund, refresh), key, and for ship and
// refund an optional amount in the main unit ("100,50"; empty: all). A
// cancel or refund is only sent once confirmed (confirm=yes, from the
// confirmation page); the first post shows that page and moves nothing.
// The outcome is shown on the admin page it redirects to. The body must be
// the page's form, naming the order and the operation (readAdminForm):
// nothing else is read as an empty form.
func (h *Handler) adminAction(w http.ResponseWriter, r *http.Request, actor string) {
	if err := readAdminForm(r, "reference", "op"); err != nil {
		h.failErr(w, r, err)
		return
	}
	f := r.PostForm
	ref, op := f.Get("reference"), f.Get("op")
	o, err := h.svc.Order(ref)
	if err != nil {
		h.adminBack(w, r, "problem", "notfound", ref)
		return
	}
	// Every form on the page carries a key made when the page was drawn:
	// a second click or a resubmitted form finds the operation the first
	// one started.
	c := shop.Caller{Actor: actor}
	if k := f.Get("key"); k != "" && shop.CheckClientKey(k) == nil {
		c.Key = "admin-" + k
	}
	if op == "refresh" {
		if _, err := h.svc.CheckAtVipps(r.Context(), ref); err != nil {
			h.adminOutcome(w, r, ref, nil, err)
			return
		}
		h.adminBack(w, r, "done", "check", ref)
		return
	}
	if op != "ship" && op != "cancel" && op != "refund" {
		h.adminBack(w, r, "problem", "unknown", "")
		return
	}
	p := o.Payment
	left := map[string]int64{"ship": p.Reserved(), "cancel": p.Reserved(), "refund": p.Refundable()}[op]
	if left == 0 {
		h.adminBack(w, r, "problem", "nothing."+op, ref)
		return
	}
	var amount int64
	confirmed := f.Get("confirm") == "yes"
	switch {
	case confirmed:
		n, err := strconv.ParseInt(f.Get("expect"), 10, 64)
		if err != nil || n <= 0 {
			h.adminBack(w, r, "problem", "unknown", "")
			return
		}
		if op == "cancel" && n != left {
			h.adminBack(w, r, "problem", "changed", ref)
			return
		}
		amount = n
	case strings.TrimSpace(f.Get("amount")) != "" && op != "cancel":
		n, err := ParseAmount(f.Get("amount"), shop.MaxAmount)
		if err != nil {
			h.adminBack(w, r, "problem", "amount", ref)
			return
		}
		amount = n
	default:
		amount = left
	}
	if amount > left {
		h.adminBack(w, r, "problem", "toomuch."+op, ref)
		return
	}
	if op != "ship" && !confirmed {
		l := h.lang(r)
		money := l.Money(amount, o.Currency)
		page := confirmPage{frame: h.frame(l, l.T("admin.confirm."+op+".title", "amount", money)),
			Text: l.T("admin.confirm."+op+".text", "amount", money, "reference", ref), Yes: l.T("admin.confirm."+op+".yes", "amount", money),
			Reference: ref, Op: op, Key: f.Get("key"), Expect: amount}
		h.render(w, http.StatusOK, "admin_confirm", page)
		return
	}
	// A ship of everything left is said as "all", so that the shop decides
	// what that is when it runs; a refund moves exactly what was confirmed.
	all := op == "ship" && amount == left
	if all {
		amount = 0
	}
	var done *state.Operation
	switch op {
	case "ship":
		_, done, err = h.svc.Ship(r.Context(), ref, shop.ShipRequest{Amount: amount, All: all, Caller: c})
	case "cancel":
		_, done, err = h.svc.Cancel(r.Context(), ref, c)
	case "refund":
		_, done, err = h.svc.Refund(r.Context(), ref, shop.RefundRequest{Amount: amount, Caller: c})
	}
	h.adminOutcome(w, r, ref, done, err)
}

// adminOutcome sends the merchant back to the admin page with what became
// of an operation.
func (h *Handler) adminOutcome(w http.ResponseWriter, r *http.Request, ref string, op *state.Operation, err error) {
	var st *shop.StateError
	switch {
	case err == nil && op != nil:
		h.adminBack(w, r, "done", op.Kind, ref, "opid", op.ID)
	case err == nil:
		h.adminBack(w, r, "done", "check", ref)
	case asErr[*shop.OutcomeUnknownError](err, nil), errors.Is(err, state.ErrOutcomeUnknown):
		h.adminBack(w, r, "problem", "undecided", ref)
	case asErr[*shop.UnavailableError](err, nil) && op != nil:
		h.adminBack(w, r, "done", "pending", ref)
	case op != nil && op.Status == shop.OpFailed && op.ErrorCode != "":
		h.adminBack(w, r, "problem", "vipps", ref, "opid", op.ID)
	case errors.Is(err, shop.ErrInProgress):
		h.adminBack(w, r, "problem", "busy", ref)
	case errors.As(err, &st):
		h.adminBack(w, r, "problem", "state", ref)
	default:
		h.log.Warn("admin action failed", zapErr(err))
		h.adminBack(w, r, "problem", "failed", ref)
	}
}

// adminBack redirects to the admin page with a notice (done) or a problem,
// named by a word and the order, never by text: the page writes it in the
// merchant's language from the order as stored, so a crafted link cannot
// make the page say anything else.
func (h *Handler) adminBack(w http.ResponseWriter, r *http.Request, kind, what, ref string, more ...string) {
	q := url.Values{kind: {what}}
	if ref != "" {
		q.Set("ref", ref)
	}
	for i := 0; i+1 < len(more); i += 2 {
		q.Set(more[i], more[i+1])
	}
	http.Redirect(w, r, h.path("/admin?"+q.Encode()), http.StatusSeeOther)
}

var referenceLike = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// adminMessage writes the notice or problem an adminBack named.
func (h *Handler) adminMessage(l *Lang, q url.Values) (notice, problem, detail string) {
	ref := q.Get("ref")
	if ref != "" && !referenceLike.MatchString(ref) {
		return "", "", ""
	}
	o, _ := h.svc.Order(ref)
	var op *state.Operation
	if o != nil {
		for i := range o.Ops {
			if o.Ops[i].ID == q.Get("opid") {
				op = &o.Ops[i]
			}
		}
	}
	switch done := q.Get("done"); done {
	case shop.OpCapture, shop.OpCancel, shop.OpRefund:
		if op != nil {
			key := map[string]string{shop.OpCapture: "admin.done.ship", shop.OpCancel: "admin.done.cancel", shop.OpRefund: "admin.done.refund"}[done]
			notice = l.T(key, "reference", ref, "amount", l.Money(op.Amount, o.Currency))
		}
	case "pending":
		notice = l.T("admin.done.pending", "reference", ref)
	case "check":
		if o != nil {
			notice = l.T("admin.done.check", "reference", ref, "status", l.Status(string(o.Status)))
		}
	}
	switch what := q.Get("problem"); what {
	case "":
	case "amount", "busy", "failed", "changed", "unknown", "undecided",
		"nothing.ship", "nothing.cancel", "nothing.refund":
		problem = l.T("admin.err."+what, "reference", ref)
	case "notfound":
		problem = l.T("admin.err.notfound", "reference", ref)
	case "toomuch.ship", "toomuch.refund":
		if o != nil {
			left := o.Payment.Reserved()
			if what == "toomuch.refund" {
				left = o.Payment.Refundable()
			}
			problem = l.T("admin.err."+what, "reference", ref, "amount", l.Money(left, o.Currency))
		}
	case "state":
		if o != nil {
			problem = l.T("admin.err.state", "reference", ref, "status", l.Status(string(o.Status)))
		}
	case "vipps":
		if op != nil {
			problem = l.T("admin.err.vipps", "op", l.T("admin.op."+op.Kind), "reference", ref, "reason", l.T(vippsReason(op.ErrorCode)))
			detail = l.T("admin.vipps.code", "code", op.ErrorCode)
		}
	}
	return notice, problem, detail
}

// vippsReason is the message key that explains a Vipps error code of a
// refused capture, cancel or refund in words.
func vippsReason(code string) string {
	switch code {
	case "6100", "6030", "6220":
		return "admin.vipps.expired"
	case "6080", "6090", "6150":
		return "admin.vipps.toomuch"
	case "6070", "6040", "6190", "6060", "6020", "6210":
		return "admin.vipps.notallowed"
	case "5090":
		return "admin.vipps.notfound"
	}
	return "admin.vipps.other"
}
