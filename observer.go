package caddyvipps

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// observer turns committed order changes into metrics and Caddy events
// (vipps.order_created, vipps.order_authorized, vipps.order_captured, ...),
// so other modules can react. Events are emitted after the change is
// durable and are best effort.
type observer struct {
	ctx     caddy.Context
	events  *caddyevents.App
	log     *zap.Logger
	metrics *metricSet
}

func newObserver(ctx caddy.Context, log *zap.Logger, m *metricSet) *observer {
	o := &observer{ctx: ctx, log: log, metrics: m}
	if app, err := ctx.App("events"); err == nil {
		o.events, _ = app.(*caddyevents.App)
	} else {
		log.Debug("caddy events unavailable", zap.Error(err))
	}
	return o
}

// OrderChanged implements shop.Observer.
func (o *observer) OrderChanged(before, after *state.Order, src state.Source) {
	outcome := string(after.Status)
	switch {
	case before == nil:
		outcome = "created"
	case before.Status != after.Status:
	case after.Status == state.StatusPending && !before.PaymentKnown() && after.PaymentKnown():
		// Stored pending before its create was sent; now Vipps has
		// confirmed the payment that waits for the buyer.
	default:
		return
	}
	o.metrics.orders.WithLabelValues(outcome).Inc()
	if src == state.SourcePoller && after.Payment.Authorized > 0 && (before == nil || before.Payment.Authorized == 0) {
		o.metrics.catchUps.Inc()
	}
	name := "vipps.order_" + outcome
	if o.events == nil || !o.events.ShouldEmit(name) {
		return
	}
	o.events.Emit(o.ctx, name, map[string]any{
		"reference": after.Reference,
		"status":    string(after.Status),
		"amount":    after.Amount,
		"currency":  after.Currency,
		"captured":  after.Payment.Captured,
		"refunded":  after.Payment.Refunded,
		"source":    string(src),
	})
}

// VippsExchange hears about every HTTP exchange with Vipps (the client's
// Observe hook): the status Vipps answered, or "error" when no answer came.
func (o *observer) VippsExchange(operation string, status int, _ time.Duration) {
	label := "error"
	if status != 0 {
		label = strconv.Itoa(status)
	}
	o.metrics.apiCalls.WithLabelValues(operation, label).Inc()
}

// WebhookRejected implements handlers.Observer.
func (o *observer) WebhookRejected(reason string) {
	o.metrics.webhookRefused.WithLabelValues(reason).Inc()
}
