package handlers

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// MerchantOrder is an order as the merchant list shows it.
type MerchantOrder struct {
	Reference string `json:"reference"`
	Status    string `json:"status"`
	// Decided and Paid are as in the buyer's view: the payment's outcome at
	// Vipps is decided (no longer new or pending: reserved, captured,
	// rejected, expired…); the buyer paid (a waiting or kiosk page polls
	// them, also in a browser signed in as the merchant).
	Decided bool `json:"decided"`
	Paid    bool `json:"paid"`
	// AtVipps is set once Vipps has confirmed the payment (its answer to
	// the create call, or a look at Vipps). An order is pending from the
	// moment it is stored, just before its create is sent: a pending
	// order without it may have its create in flight, and is marked
	// failed if Vipps never got it. A cancel sends the create again with
	// the order's key first, so it also cancels such a payment.
	AtVipps   bool        `json:"at_vipps"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	Items     []BuyerItem `json:"items"`
	Payment   Money       `json:"payment"`
	Receipt   string      `json:"receipt,omitempty"`
	// Link is the payment link the order was made from; Flow how the buyer
	// paid when it was not by going to Vipps (qr at the counter, or a
	// push to the phone).
	Link string `json:"link,omitempty"`
	Flow string `json:"flow,omitempty"`
	// Shipping is the delivery the buyer chose in the app; its price is
	// part of payment.amount.
	Shipping *Shipping `json:"shipping,omitempty"`
	// Buyer holds what the buyer shared through Vipps (or typed at
	// checkout), until the retention period ends. Personal data: the
	// merchant's to protect.
	Buyer             *Buyer      `json:"buyer,omitempty"`
	BuyerDetails      string      `json:"buyer_details,omitempty"`
	CaptureDeadline   *time.Time  `json:"capture_deadline,omitempty"`
	DaysLeftToCapture *int        `json:"days_left_to_capture,omitempty"`
	Operations        []Operation `json:"operations,omitempty"`
	// InDoubt is set while an operation's outcome is not confirmed by
	// Vipps for longer than a request takes (see Operation.InDoubt).
	InDoubt bool `json:"in_doubt,omitempty"`
	// Again is set on an order that was not paid and whose goods were
	// offered to its buyer again (a payment link or a sale at the counter
	// for it): what still takes the payment, or which order paid it.
	Again   *Again    `json:"again,omitempty"`
	History []History `json:"history,omitempty"`
}

// Again is where an unpaid order's goods stand in being offered again.
type Again struct {
	// Open names the link (or the counter sale's order) that still takes
	// the payment.
	Open string `json:"open,omitempty"`
	// PaidBy is the order that paid for the goods.
	PaidBy string `json:"paid_by,omitempty"`
}

// PayAgain reports whether the order's goods may be offered to its buyer
// again: its own payment failed, was rejected or expired, and nothing
// offered since is open or was paid.
func (m MerchantOrder) PayAgain() bool {
	return m.Decided && !m.Paid && (m.Again == nil || (m.Again.Open == "" && m.Again.PaidBy == ""))
}

// Shipping is the delivery chosen for an order.
type Shipping struct {
	OptionID string `json:"option_id"`
	Name     string `json:"name"`
	Amount   int64  `json:"amount"`
}

// Buyer is what the merchant knows of the buyer.
type Buyer struct {
	Name     string   `json:"name,omitempty"`
	Email    string   `json:"email,omitempty"`
	Phone    string   `json:"phone,omitempty"`
	Address  []string `json:"address,omitempty"`
	PostCode string   `json:"post_code,omitempty"`
	City     string   `json:"city,omitempty"`
	Country  string   `json:"country,omitempty"`
}

// Lines is the address as printed on a label: street lines, then post code
// and city, then country.
func (b *Buyer) Lines() []string {
	out := append([]string(nil), b.Address...)
	if pc := strings.TrimSpace(b.PostCode + " " + b.City); pc != "" {
		out = append(out, pc)
	}
	if b.Country != "" {
		out = append(out, b.Country)
	}
	return out
}

func buyerOf(b *state.Buyer) *Buyer {
	if b == nil {
		return nil
	}
	return &Buyer{Name: b.Name, Email: b.Email, Phone: b.Phone, Address: b.Address, PostCode: b.PostCode, City: b.City, Country: b.Country}
}

// History is one entry of an order's history.
type History struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Note   string    `json:"note,omitempty"`
}

// OrderList is one page of the merchant's order list.
type OrderList struct {
	Orders []MerchantOrder `json:"orders"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// merchantOrder shows an order with its buyer's details, if still kept.
func (h *Handler) merchantOrder(o *state.Order, now time.Time) MerchantOrder {
	m := merchantOrder(o, h.svc.BuyerOf(o.Reference), now)
	for i, op := range o.Ops {
		m.Operations[i] = h.operationView(op)
		m.InDoubt = m.InDoubt || m.Operations[i].InDoubt
	}
	if len(o.Again) > 0 {
		st, err := h.svc.Again(o)
		if err != nil {
			// Unknown is shown as open: nothing is offered twice on a
			// guess.
			st.Open = o.Again[len(o.Again)-1].ID
		}
		m.Again = &Again{Open: st.Open, PaidBy: st.PaidBy}
	}
	return m
}

func merchantOrder(o *state.Order, buyer *state.Buyer, now time.Time) MerchantOrder {
	m := MerchantOrder{
		Reference:    o.Reference,
		Status:       string(o.Status),
		Decided:      !o.Status.Pending(),
		Paid:         o.Payment.Authorized > 0,
		AtVipps:      o.PaymentKnown(),
		CreatedAt:    o.CreatedAt,
		UpdatedAt:    o.UpdatedAt,
		Items:        buyerView(o).Items,
		Payment:      moneyOf(o),
		Receipt:      o.Receipt,
		Link:         o.Link,
		Flow:         strings.ToLower(o.Flow),
		Buyer:        buyerOf(buyer),
		BuyerDetails: o.BuyerDetails,
	}
	if sh := o.Shipping; sh != nil {
		m.Shipping = &Shipping{OptionID: sh.OptionID, Name: sh.Name, Amount: sh.Amount}
	}
	if !o.Payment.CaptureDeadline.IsZero() {
		d := o.Payment.CaptureDeadline
		m.CaptureDeadline = &d
		if shop.Remaining(o) > 0 {
			days := int(d.Sub(now).Hours() / 24)
			m.DaysLeftToCapture = &days
		}
	}
	for _, op := range o.Ops {
		m.Operations = append(m.Operations, Operation{ID: op.ID, Kind: op.Kind, Amount: op.Amount, Status: op.Status, ErrorCode: op.ErrorCode, TraceID: op.TraceID})
	}
	for _, h := range o.History {
		m.History = append(m.History, History{At: h.At, Source: string(h.Source), From: string(h.From), To: string(h.To), Note: h.Note})
	}
	return m
}

// listFilter reads ?status=a,b&from=RFC3339|YYYY-MM-DD&to=...&link=ID.
func listFilter(q url.Values) (state.ListFilter, error) {
	var f state.ListFilter
	f.Link = q.Get("link")
	for _, s := range strings.Split(q.Get("status"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			f.Status = append(f.Status, state.Status(s))
		}
	}
	var err error
	if f.From, err = parseDate(q.Get("from"), false); err != nil {
		return f, &shop.InputError{Field: "from", Reason: "use a date (2026-01-31) or an RFC 3339 time"}
	}
	if f.To, err = parseDate(q.Get("to"), true); err != nil {
		return f, &shop.InputError{Field: "to", Reason: "use a date (2026-01-31) or an RFC 3339 time"}
	}
	return f, nil
}

func parseDate(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, err
	}
	if end {
		t = t.Add(24*time.Hour - time.Nanosecond)
	}
	return t, nil
}

// listOrders serves GET {base}/orders: newest first, ?limit=N (1-500,
// default 50), ?cursor=C from the previous page, ?status=, ?from=/?to= and
// ?link= filters; ?format=csv streams every matching order as CSV for
// bookkeeping (?format=json is the default). Any other parameter is a 400.
func (h *Handler) listOrders(w http.ResponseWriter, r *http.Request, _ string) {
	q, err := readQuery(r, "limit", "cursor", "status", "from", "to", "link", "format")
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	f, err := listFilter(q)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	switch q.Get("format") {
	case "", "json":
	case "csv":
		if q.Has("limit") || q.Has("cursor") {
			h.failErr(w, r, &shop.InputError{Field: "format", Reason: "the CSV holds every matching order; it takes no limit or cursor"})
			return
		}
		h.ordersCSV(w, r, f)
		return
	default:
		h.failErr(w, r, &shop.InputError{Field: "format", Reason: `must be "json" (the default) or "csv"`})
		return
	}
	limit, err := pageLimit(q)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	orders, next, err := h.svc.Orders(q.Get("cursor"), limit, f)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	now := time.Now()
	out := OrderList{Orders: make([]MerchantOrder, 0, len(orders)), Next: next}
	for _, o := range orders {
		out.Orders = append(out.Orders, h.merchantOrder(o, now))
	}
	writeJSON(w, http.StatusOK, out)
}

// csvColumns is the header of the orders' CSV. The names carry the units,
// since a spreadsheet shows nothing else: amounts (*_minor) are whole minor
// units of the currency column (14900 is 149.00 kr), and times (*_utc) are
// RFC 3339 in UTC, where the admin page shows money and local time.
var csvColumns = []string{"reference", "created_utc", "status", "currency", "amount_minor", "authorized_minor", "captured_minor",
	"cancelled_minor", "refunded_minor", "items", "shipping", "shipping_amount_minor",
	"buyer_name", "buyer_email", "buyer_phone", "address", "post_code", "city", "country"}

// ordersCSV answers every order f matches as CSV, read 500 at a time. The
// first page is read before anything is sent, so a filter the store refuses
// or a store that is down is an error answer; should a later page fail, the
// answer is aborted (the client sees a broken transfer), never a file that
// looks whole and is not.
func (h *Handler) ordersCSV(w http.ResponseWriter, r *http.Request, f state.ListFilter) {
	orders, next, err := h.svc.Orders("", 500, f)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="vipps-orders.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(csvColumns)
	for {
		for _, o := range orders {
			var items []string
			for _, it := range o.Items {
				items = append(items, strconv.Itoa(it.Qty)+" x "+it.SKU)
			}
			row := []string{
				o.Reference, o.CreatedAt.UTC().Format(time.RFC3339), string(o.Status), o.Currency,
				strconv.FormatInt(o.Amount, 10), strconv.FormatInt(o.Payment.Authorized, 10),
				strconv.FormatInt(o.Payment.Captured, 10), strconv.FormatInt(o.Payment.Cancelled, 10),
				strconv.FormatInt(o.Payment.Refunded, 10), strings.Join(items, "; "),
			}
			if sh := o.Shipping; sh != nil {
				row = append(row, sh.Name, strconv.FormatInt(sh.Amount, 10))
			} else {
				row = append(row, "", "")
			}
			b := buyerOf(h.svc.BuyerOf(o.Reference))
			if b == nil {
				b = &Buyer{}
			}
			row = append(row, b.Name, b.Email, b.Phone, strings.Join(b.Address, ", "), b.PostCode, b.City, b.Country)
			for i := range row {
				row[i] = csvSafe(row[i])
			}
			_ = cw.Write(row)
		}
		if next == "" {
			break
		}
		if orders, next, err = h.svc.Orders(next, 500, f); err != nil {
			h.log.Error("csv export aborted", zapErr(err))
			cw.Flush()
			panic(http.ErrAbortHandler)
		}
	}
	cw.Flush()
}

// csvSafe defuses cells that spreadsheet programs would run as formulas.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// merchantOrderDetail serves GET {base}/orders/R for a merchant: the full
// record with operations and history (the buyer view is for everyone else).
func (h *Handler) merchantOrderDetail(w http.ResponseWriter, r *http.Request, o *state.Order) {
	writeJSON(w, http.StatusOK, h.merchantOrder(o, time.Now()))
}
