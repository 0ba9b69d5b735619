package caddyvipps

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// metricSet holds the module's collectors. They are created once per process
// so counters survive config reloads, and registered into each config's
// registry. No label carries a reference or any other per-order value.
type metricSet struct {
	orders         *prometheus.CounterVec
	apiCalls       *prometheus.CounterVec
	webhookRefused *prometheus.CounterVec
	catchUps       prometheus.Counter
}

var (
	metricsOnce sync.Once
	metrics     *metricSet
)

func registerMetrics(reg prometheus.Registerer, log *zap.Logger) *metricSet {
	metricsOnce.Do(func() {
		metrics = &metricSet{
			orders: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "caddy", Subsystem: "vipps", Name: "orders_total",
				Help: "Orders reaching a status: created, authorized, aborted, expired, captured, refunded, ...",
			}, []string{"outcome"}),
			apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "caddy", Subsystem: "vipps", Name: "api_calls_total",
				Help: "HTTP exchanges with the Vipps API, retries included, by operation and the status Vipps answered (error when no answer came).",
			}, []string{"operation", "status"}),
			webhookRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "caddy", Subsystem: "vipps", Name: "webhook_rejections_total",
				Help: "Webhook deliveries refused, by reason (signature, malformed payload, body too large, ...).",
			}, []string{"reason"}),
			catchUps: prometheus.NewCounter(prometheus.CounterOpts{
				Namespace: "caddy", Subsystem: "vipps", Name: "poller_catch_ups_total",
				Help: "Orders confirmed by the poller because neither webhook nor return page had done it.",
			}),
		}
	})
	if reg == nil {
		return metrics
	}
	for _, c := range []prometheus.Collector{metrics.orders, metrics.apiCalls, metrics.webhookRefused, metrics.catchUps} {
		var already prometheus.AlreadyRegisteredError
		if err := reg.Register(c); err != nil && !errors.As(err, &already) {
			log.Warn("registering metrics", zap.Error(err))
		}
	}
	return metrics
}
