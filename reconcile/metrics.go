package reconcile

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the controller's Prometheus metrics. Labels carry Sync names,
// kinds and outcomes, never values or references.
type Metrics struct {
	ReconcileDuration *prometheus.HistogramVec
	Applies           *prometheus.CounterVec
	Prunes            *prometheus.CounterVec
	DriftDetected     *prometheus.CounterVec
	DriftHealed       *prometheus.CounterVec
	VaultReads        prometheus.Counter
	VaultCacheHits    prometheus.Counter
	VaultVersionReads prometheus.Counter
	RotationPickups   *prometheus.CounterVec
	Ready             *prometheus.GaugeVec
	DriftLatency      prometheus.Histogram
	AccessReviews     prometheus.Counter
	Identities        prometheus.Gauge
	Publishes         *prometheus.CounterVec
	PublishLatency    prometheus.Histogram
	Promotions        *prometheus.CounterVec
	PromotionHolds    *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ReconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latchkey_reconcile_duration_seconds",
			Help:    "Time one reconciliation of a Sync took, by result.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"result"}),
		Applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_applied_objects_total",
			Help: "Objects created or changed by server-side apply, by Sync namespace and action.",
		}, []string{"namespace", "action"}),
		Prunes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_pruned_objects_total",
			Help: "Objects deleted because they are no longer rendered, by Sync namespace.",
		}, []string{"namespace"}),
		DriftDetected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_drift_detected_total",
			Help: "Managed objects found to differ from Git, by Sync namespace and mode.",
		}, []string{"namespace", "mode"}),
		DriftHealed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_drift_healed_total",
			Help: "Drifted objects re-applied in enforce mode, by Sync namespace.",
		}, []string{"namespace"}),
		VaultReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_vault_reads_total",
			Help: "Secret versions read from Vault (cache misses).",
		}),
		VaultCacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_vault_cache_hits_total",
			Help: "Secret versions served from the in-memory cache.",
		}),
		VaultVersionReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_vault_version_checks_total",
			Help: "KV metadata reads made to notice rotated secrets.",
		}),
		RotationPickups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_rotation_pickups_total",
			Help: "Rotated Vault secrets picked up and re-applied, by Sync namespace.",
		}, []string{"namespace"}),
		Ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "latchkey_sync_ready",
			Help: "1 when the Sync's Ready condition is True, 0 otherwise.",
		}, []string{"namespace", "name"}),
		DriftLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "latchkey_drift_heal_latency_seconds",
			Help:    "Time from a managed object's change event to its re-apply in enforce mode.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30},
		}),
		AccessReviews: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_access_reviews_total",
			Help: "SubjectAccessReviews sent to check a set before applying it as a Sync's ServiceAccount (cache misses).",
		}),
		Identities: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "latchkey_impersonated_clients",
			Help: "Clients held to act as a ServiceAccount, one per ServiceAccount some Sync uses.",
		}),
		Publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_publishes_total",
			Help: "Verified revisions published to spec.publish.ref (result published), or refused (result blocked: the ref moved, holds a newer revision, or the push failed), by Sync namespace.",
		}, []string{"namespace", "result"}),
		PublishLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "latchkey_publish_latency_seconds",
			Help:    "Time from the end of a revision's soak (spec.publish.after) to its publication.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60},
		}),
		Promotions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_promotions_total",
			Help: "New revisions of a followed ref applied under spec.promotion, by Sync namespace.",
		}, []string{"namespace"}),
		PromotionHolds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_promotion_holds_total",
			Help: "Times a new revision of a followed ref was held back, by Sync namespace and reason (AwaitingApproval, SecretsMissing).",
		}, []string{"namespace", "reason"}),
	}
	reg.MustRegister(m.ReconcileDuration, m.Applies, m.Prunes, m.DriftDetected, m.DriftHealed,
		m.VaultReads, m.VaultCacheHits, m.VaultVersionReads, m.RotationPickups, m.Ready, m.DriftLatency, m.AccessReviews, m.Identities,
		m.Publishes, m.PublishLatency, m.Promotions, m.PromotionHolds)
	return m
}
