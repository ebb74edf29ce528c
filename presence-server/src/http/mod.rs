//! The HTTP side: the counts API, health checks and the embed assets.

mod api;
mod assets;
mod error;
mod health;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use presence_core::Store;

use crate::metrics::Metrics;

pub use self::error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub max_batch_ids: usize,
}

/// The HTTP routes, without the Socket.IO layer, so tests can drive them alone.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/posts", get(api::posts))
        .route("/api/posts/{post_id}", get(api::post))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/presence.js", get(assets::embed_script))
        .route("/", get(assets::demo_page))
        .with_state(state)
}
