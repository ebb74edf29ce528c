//! The HTTP side: the counts API, health checks and the embed assets.

mod api;
mod assets;
mod auth;
mod client;
mod dashboard;
mod detach;
mod error;
mod events;
mod health;
mod leases;
mod metrics;
mod notices;
mod serve;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use presence_core::Store;
use presence_core::config::DashboardConfig;
use tokio_util::sync::CancellationToken;

use crate::feeds::Feeds;
use crate::hub::HubHandle;
use crate::metrics::Metrics;
use crate::security::Guard;

pub use self::detach::detach_socket_request;
pub use self::error::ApiError;
pub use self::serve::{Serving, serve};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub max_batch_ids: usize,
    pub notice_rules: crate::notices::NoticeRules,
    pub feeds: Arc<Feeds>,
    /// Told when a post gets its first event stream.
    pub hub: HubHandle,
    pub guard: Arc<Guard>,
    pub dashboard: Arc<DashboardConfig>,
    /// Cancelled at shutdown: open event streams end then.
    pub shutdown: CancellationToken,
}

impl AppState {
    pub fn new(
        config: &presence_core::Config,
        process: &crate::process::Process,
        shutdown: &CancellationToken,
    ) -> Self {
        Self {
            store: process.store.clone(),
            metrics: process.metrics.clone(),
            max_batch_ids: config.server.max_batch_ids,
            notice_rules: (&config.notices).into(),
            feeds: process.feeds.clone(),
            hub: process.hub.clone(),
            guard: process.guard.clone(),
            dashboard: Arc::new(config.dashboard.clone()),
            shutdown: shutdown.child_token(),
        }
    }
}

/// The whole service on one port: the routes, with Socket.IO, the origin check
/// and CORS around them (outermost first: CORS answers preflights, the origin
/// check refuses foreign handshakes before Socket.IO sees them, Socket.IO
/// requests get heads of their own before socketioxide keeps them (see
/// [`detach`]), and sessions take their lease on the address's budget).
pub fn app(
    state: AppState,
    socket_layer: socketioxide::layer::SocketIoLayer,
    guard: &Arc<Guard>,
) -> Router {
    let origin_log = Arc::new(crate::log_throttle::LogThrottle::default());
    router(state)
        .layer(socket_layer)
        .layer(axum::middleware::from_fn_with_state(
            leases::Sessions::new(guard.clone()),
            leases::lease_sessions,
        ))
        .layer(axum::middleware::map_request(detach_socket_request))
        .layer(axum::middleware::from_fn_with_state(
            (guard.clone(), origin_log),
            crate::security::refuse_foreign_origins,
        ))
        .layer(crate::security::cors(guard))
}

/// The HTTP routes, without the Socket.IO layer, so tests can drive them alone.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/posts", get(api::posts))
        .route("/api/posts/{post_id}", get(api::post))
        .route("/api/posts/{post_id}/events", get(events::post_events))
        .route("/api/top", get(api::top))
        .route("/api/stats", get(api::stats))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/data", get(dashboard::data))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/notices", post(notices::to_site))
        .route("/api/posts/{post_id}/notices", post(notices::to_post))
        // Larger than a notice may be, so an oversized one gets our 400 with a
        // reason; far larger bodies are cut off by axum (413).
        .layer(DefaultBodyLimit::max(64 * 1024))
        .route("/presence.js", get(assets::embed_script))
        .route("/", get(assets::demo_page))
        .route("/archive", get(assets::archive_page))
        .with_state(state)
}
