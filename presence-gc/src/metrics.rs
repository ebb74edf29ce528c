//! gc's Prometheus metrics, registered in one place, served on `gc.metrics_listen`.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use presence_core::reaper::SweepReport;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub struct Metrics {
    registry: Registry,
    pub expiry_events: Counter,
    pub reaped_expiry: Counter,
    pub reaped_sweep: Counter,
    pub swept_entries: Counter,
    pub index_repairs: Counter,
    pub sweeps: Counter,
    pub sweep_duration: Histogram,
    pub errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("presence_gc");
        let metrics = Self {
            expiry_events: Counter::default(),
            reaped_expiry: Counter::default(),
            reaped_sweep: Counter::default(),
            swept_entries: Counter::default(),
            index_repairs: Counter::default(),
            sweeps: Counter::default(),
            // 1 ms .. ~65 s
            sweep_duration: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            errors: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "expiry_events",
            "Expired session keys announced by Redis",
            metrics.expiry_events.clone(),
        );
        registry.register(
            "reaped_expired_sessions",
            "Sessions removed because their key expiry was announced",
            metrics.reaped_expiry.clone(),
        );
        registry.register(
            "swept_sessions",
            "Stale sessions removed by the reconciling sweep",
            metrics.reaped_sweep.clone(),
        );
        registry.register(
            "sweep_checked_entries",
            "Set members and hash entries checked by sweeps",
            metrics.swept_entries.clone(),
        );
        registry.register(
            "index_repairs",
            "Posts whose score in the site-wide index a sweep found wrong and set right",
            metrics.index_repairs.clone(),
        );
        registry.register("sweeps", "Completed sweeps", metrics.sweeps.clone());
        registry.register(
            "sweep_duration_seconds",
            "Duration of one complete sweep",
            metrics.sweep_duration.clone(),
        );
        registry.register(
            "errors",
            "Failed Redis operations (reaps, sweeps, subscriptions)",
            metrics.errors.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    pub fn record_sweep(&self, report: &SweepReport) {
        self.sweeps.inc();
        self.reaped_sweep.inc_by(report.removed);
        self.swept_entries.inc_by(report.checked);
        self.index_repairs.inc_by(report.reindexed);
        self.sweep_duration.observe(report.duration.as_secs_f64());
    }

    fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || async move {
            (
                [(
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                metrics.render(),
            )
                .into_response()
        }),
    )
}
