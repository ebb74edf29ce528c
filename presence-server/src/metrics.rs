//! The server's Prometheus metrics, registered in one place and served at
//! `/metrics`, named `presence_<thing>_<unit>`.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use async_trait::async_trait;
use presence_core::notice::Notice;
use presence_core::store::Admission;
use presence_core::{
    Change, PostId, PostStats, Sample, SessionId, SiteStats, Store, StoreError, Viewing,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::broadcast;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    pub operation: &'static str,
}

/// Which limit refused something, for `presence_limited_total{limit}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabel {
    pub limit: &'static str,
}

/// A map of per-post state, for `presence_local_posts{map}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MapLabel {
    pub map: &'static str,
}

/// Why a connection ended, for `presence_disconnects_total{reason}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub connections: Gauge,
    pub disconnects: Family<ReasonLabel, Counter>,
    pub viewing_events: Counter,
    pub viewing_rejected: Counter,
    pub pushes: Counter,
    pub pushes_coalesced: Counter,
    pub store_latency: Family<OperationLabel, Histogram>,
    pub store_errors: Family<OperationLabel, Counter>,
    pub limited: Family<LimitLabel, Counter>,
    pub notices_delivered: Counter,
    pub event_streams: Gauge,
    pub local_posts: Family<MapLabel, Gauge>,
    pub open_files: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("presence");
        let metrics = Self {
            registry: Registry::default(),
            connections: Gauge::default(),
            disconnects: Family::default(),
            viewing_events: Counter::default(),
            viewing_rejected: Counter::default(),
            pushes: Counter::default(),
            pushes_coalesced: Counter::default(),
            // 100 µs .. ~3 s
            store_latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 15))
            }),
            store_errors: Family::default(),
            limited: Family::default(),
            notices_delivered: Counter::default(),
            event_streams: Gauge::default(),
            local_posts: Family::default(),
            open_files: Gauge::default(),
        };
        registry.register(
            "connections",
            "Open Socket.IO connections (sockets this process holds a session for)",
            metrics.connections.clone(),
        );
        registry.register(
            "disconnects",
            "Connections ended, by reason (a heartbeat_timeout is a client that stopped answering pings)",
            metrics.disconnects.clone(),
        );
        registry.register(
            "viewing_events",
            "viewing events received",
            metrics.viewing_events.clone(),
        );
        registry.register(
            "viewing_rejected",
            "viewing events refused (invalid post id)",
            metrics.viewing_rejected.clone(),
        );
        registry.register(
            "pushes",
            "viewers pushes sent to a post's room",
            metrics.pushes.clone(),
        );
        registry.register(
            "pushes_coalesced",
            "Change announcements that caused no push of their own (merged or unchanged)",
            metrics.pushes_coalesced.clone(),
        );
        registry.register(
            "store_latency_seconds",
            "Duration of store operations",
            metrics.store_latency.clone(),
        );
        registry.register(
            "store_errors",
            "Failed store operations",
            metrics.store_errors.clone(),
        );
        registry.register(
            "limited",
            "Connections, events and requests refused by a security limit",
            metrics.limited.clone(),
        );
        registry.register(
            "notices_delivered",
            "Notices emitted to this process's sockets (one per notice, not per socket)",
            metrics.notices_delivered.clone(),
        );
        registry.register(
            "event_streams",
            "Open Server-Sent Events streams of post counts",
            metrics.event_streams.clone(),
        );
        registry.register(
            "local_posts",
            "Posts this process keeps state for, by map: readers and watchers (local audiences), \
             hub (what each post's rooms were told), feeds (event streams); back to 0 once nobody \
             here reads, watches or streams",
            metrics.local_posts.clone(),
        );
        registry.register(
            "open_files_ratio",
            "Open file descriptors as a fraction of the process's limit; within 32 of it, only health checks and metrics are served",
            metrics.open_files.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// Counts something refused by the security or API limit `limit`.
    pub fn refused(&self, limit: &'static str) {
        self.limited.get_or_create(&LimitLabel { limit }).inc();
    }

    /// Sets how many posts the map `map` holds.
    pub fn local_posts(&self, map: &'static str, posts: usize) {
        self.local_posts
            .get_or_create(&MapLabel { map })
            .set(i64::try_from(posts).unwrap_or(i64::MAX));
    }

    /// Counts a connection that ended.
    pub fn disconnected(&self, reason: socketioxide::socket::DisconnectReason) {
        use socketioxide::socket::DisconnectReason::*;
        let reason = match reason {
            TransportClose => "transport_close",
            MultipleHttpPollingError => "multiple_polling",
            PacketParsingError => "packet_parsing",
            TransportError => "transport_error",
            HeartbeatTimeout => "heartbeat_timeout",
            ClientNSDisconnect => "client_disconnect",
            ServerNSDisconnect => "server_disconnect",
            ClosingServer => "closing_server",
        };
        self.disconnects
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Counts a socket that socketioxide dropped before acknowledging it, without
    /// a disconnect (see `Sessions::remove_orphans`).
    pub fn disconnected_unacknowledged(&self) {
        self.disconnects
            .get_or_create(&ReasonLabel {
                reason: "unacknowledged",
            })
            .inc();
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// A [`Store`] that times every operation and counts its failures.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    pub fn wrap(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Arc<dyn Store> {
        Arc::new(Self { inner, metrics })
    }

    async fn measure<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        let label = OperationLabel { operation };
        self.metrics
            .store_latency
            .get_or_create(&label)
            .observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.metrics.store_errors.get_or_create(&label).inc();
        }
        result
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn view(
        &self,
        session: &SessionId,
        post: &PostId,
        previous: Option<&PostId>,
        count_view: bool,
    ) -> Result<Viewing, StoreError> {
        self.measure("view", self.inner.view(session, post, previous, count_view))
            .await
    }

    async fn leave(&self, session: &SessionId, post: &PostId) -> Result<Option<u64>, StoreError> {
        self.measure("leave", self.inner.leave(session, post)).await
    }

    async fn leave_many(&self, sessions: &[(SessionId, PostId)]) -> Result<u64, StoreError> {
        self.measure("leave_many", self.inner.leave_many(sessions))
            .await
    }

    async fn keep_alive(&self, sessions: &[(SessionId, PostId)]) -> Result<Vec<usize>, StoreError> {
        self.measure("keep_alive", self.inner.keep_alive(sessions))
            .await
    }

    async fn viewer_counts(&self, posts: &[PostId]) -> Result<Vec<u64>, StoreError> {
        self.measure("viewer_counts", self.inner.viewer_counts(posts))
            .await
    }

    async fn post_stats(&self, posts: &[PostId]) -> Result<Vec<PostStats>, StoreError> {
        self.measure("post_stats", self.inner.post_stats(posts))
            .await
    }

    async fn top(&self, limit: usize) -> Result<Vec<(PostId, u64)>, StoreError> {
        self.measure("top", self.inner.top(limit)).await
    }

    async fn site_stats(&self) -> Result<SiteStats, StoreError> {
        self.measure("site_stats", self.inner.site_stats()).await
    }

    async fn record_history(
        &self,
        step: std::time::Duration,
        keep: std::time::Duration,
    ) -> Result<(), StoreError> {
        self.measure("record_history", self.inner.record_history(step, keep))
            .await
    }

    async fn history(&self) -> Result<Vec<Sample>, StoreError> {
        self.measure("history", self.inner.history()).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.measure("ping", self.inner.ping()).await
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes()
    }

    async fn admit_notice(
        &self,
        notice: &Notice,
        per_minute: u32,
        dedupe: Option<&str>,
    ) -> Result<Admission, StoreError> {
        self.measure(
            "admit_notice",
            self.inner.admit_notice(notice, per_minute, dedupe),
        )
        .await
    }

    fn notices(&self) -> broadcast::Receiver<Notice> {
        self.inner.notices()
    }

    fn notice_submissions(&self) -> broadcast::Receiver<String> {
        self.inner.notice_submissions()
    }
}
