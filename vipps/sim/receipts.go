package sim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// receiptEntry is a receipt posted to Order Management.
type receiptEntry struct {
	MSN         string        `json:"msn"`
	PaymentType string        `json:"payment_type"`
	OrderID     string        `json:"order_id"`
	ID          string        `json:"id"`
	Receipt     vipps.Receipt `json:"receipt"`
	At          time.Time     `json:"at"`
}

// categoryEntry is the category last put for an order.
type categoryEntry struct {
	Category vipps.Category `json:"category"`
	At       time.Time      `json:"at"`
}

// paymentTypes are Order Management's payment types.
var paymentTypes = []string{"ECOM", "RECURRING"}

// orderKey names an order's receipt and category.
func orderKey(msn, ptype, orderID string) string { return msn + "/" + ptype + "/" + orderID }

var orderIDPattern = regexp.MustCompile(`^[0-9A-Za-z\-_.]+$`)

// omError writes Order Management's own error shape.
func omError(w http.ResponseWriter, r *http.Request, status int, title, name, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"type": "https://datatracker.ietf.org/doc/html/rfc7231", "title": title, "detail": http.StatusText(status), "instance": traceID()}
	if name != "" {
		body["invalidParams"] = []map[string]string{{"name": name, "reason": reason}}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// orderManagement serves /order-management/v2/{paymentType}/...
func (s *Simulator) orderManagement(w http.ResponseWriter, r *http.Request, msn string) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/order-management/v2/"), "/")
	if len(parts) < 2 {
		omError(w, r, http.StatusNotFound, "Not Found", "", "")
		return
	}
	ptype := strings.ToUpper(parts[0])
	if !slices.Contains(paymentTypes, ptype) {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "paymentType", "must be ECOM or RECURRING")
		return
	}
	switch {
	case len(parts) == 3 && parts[1] == "receipts" && r.Method == http.MethodPost:
		s.withFaults(w, r, "receipt", func(w http.ResponseWriter, r *http.Request) { s.addReceipt(w, r, msn, ptype, parts[2]) })
	case len(parts) == 3 && parts[1] == "categories" && r.Method == http.MethodPut:
		s.withFaults(w, r, "category", func(w http.ResponseWriter, r *http.Request) { s.putCategory(w, r, msn, ptype, parts[2]) })
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.withFaults(w, r, "order", func(w http.ResponseWriter, r *http.Request) { s.getOrder(w, r, msn, ptype, parts[1]) })
	default:
		omError(w, r, http.StatusNotFound, "Not Found", "", "")
	}
}

func validateReceipt(rc *vipps.Receipt) (string, string) {
	if len(rc.OrderLines) == 0 {
		return "orderLines", "at least one order line is required"
	}
	for _, l := range rc.OrderLines {
		switch {
		case l.Name == "" || l.ID == "":
			return "orderLines", "name and id are required"
		case l.TotalAmount < 0 || l.TotalAmountExcludingTax < 0 || l.TotalTaxAmount < 0:
			return "orderLines", "negative amounts are not allowed; use isReturn"
		case l.TaxRate == nil && l.TaxPercentage == nil:
			return "orderLines", "taxRate or taxPercentage is required"
		case l.TaxRate != nil && (*l.TaxRate < 0 || *l.TaxRate > 10000):
			return "orderLines.taxRate", "must be between 0 and 10000"
		case l.UnitInfo != nil && l.UnitInfo.Quantity == "":
			return "orderLines.unitInfo.quantity", "is required"
		}
	}
	if rc.BottomLine.Currency == "" {
		return "bottomLine.currency", "is required"
	}
	return "", ""
}

func (s *Simulator) addReceipt(w http.ResponseWriter, r *http.Request, msn, ptype, orderID string) {
	if !orderIDPattern.MatchString(orderID) {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "orderId", "invalid characters")
		return
	}
	body, aerr := readBody(r)
	if aerr != nil {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "body", "unreadable")
		return
	}
	var rc vipps.Receipt
	if err := json.Unmarshal(body, &rc); err != nil {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "body", "not valid JSON")
		return
	}
	if name, reason := validateReceipt(&rc); name != "" {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", name, reason)
		return
	}
	k := orderKey(msn, ptype, orderID)
	e := &receiptEntry{MSN: msn, PaymentType: ptype, OrderID: orderID, ID: uuid.NewString(), Receipt: rc}
	s.mu.Lock()
	if s.receipts[k] != nil {
		s.mu.Unlock()
		omError(w, r, http.StatusConflict, "Conflict", "orderId", "a receipt already exists for this order")
		return
	}
	e.At = s.clock.Now()
	s.receipts[k] = e
	s.j.put(recReceipt, k, e)
	s.keepOrder(k, e.At)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, e.ID)
}

func (s *Simulator) putCategory(w http.ResponseWriter, r *http.Request, msn, ptype, orderID string) {
	body, _ := readBody(r)
	var c vipps.Category
	if err := json.Unmarshal(body, &c); err != nil {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "body", "not valid JSON")
		return
	}
	switch c.Category {
	case vipps.CategoryGeneral, vipps.CategoryReceipt, vipps.CategoryOrderConfirmation, vipps.CategoryDelivery, vipps.CategoryTicket, vipps.CategoryBooking:
	default:
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "category", "unknown category")
		return
	}
	if u := c.OrderDetailsURL; u == "" || !validReturnURL(u) {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "orderDetailsUrl", "must be an absolute URL")
		return
	}
	if c.ImageID != "" && !validImageID(c.ImageID) {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "imageId", imageIDRule)
		return
	}
	k := orderKey(msn, ptype, orderID)
	s.mu.Lock()
	if c.ImageID != "" && s.images[imageKey(msn, c.ImageID)] == nil {
		s.mu.Unlock()
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", "imageId", "no image with this id has been uploaded; upload it first (POST "+imagesPath+")")
		return
	}
	e := &categoryEntry{Category: c, At: s.clock.Now()}
	s.categories[k] = e
	s.j.put(recCategory, k, e)
	s.keepOrder(k, e.At)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, uuid.NewString())
}

func (s *Simulator) getOrder(w http.ResponseWriter, r *http.Request, msn, ptype, orderID string) {
	k := orderKey(msn, ptype, orderID)
	s.mu.Lock()
	var out vipps.OrderWithCategoryAndReceipt
	if e := s.receipts[k]; e != nil {
		rc := e.Receipt
		out.Receipt = &rc
	}
	if e := s.categories[k]; e != nil {
		c := e.Category
		out.Category = &c
	}
	s.mu.Unlock()
	if out.Receipt == nil && out.Category == nil {
		omError(w, r, http.StatusNotFound, "Not Found", "orderId", "no category or receipt for this order")
		return
	}
	writeJSON(w, http.StatusOK, out)
}
