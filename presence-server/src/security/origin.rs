//! The origin allowlist at the HTTP edge: Socket.IO handshakes from other origins
//! are refused before any session exists, and CORS answers only allowed origins.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::cors::{AllowHeaders, AllowOrigin, Any, CorsLayer};

use super::Guard;
use crate::log_throttle::LogThrottle;

/// Refuses Socket.IO requests whose `Origin` is not allowed. Requests without an
/// `Origin` (not from a browser page) pass: origins protect sites from being
/// embedded elsewhere, not the server from scripts, which can send any header.
pub async fn refuse_foreign_origins(
    State((guard, log)): State<(Arc<Guard>, Arc<LogThrottle>)>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/socket.io")
        && let Some(origin) = request.headers().get(header::ORIGIN)
        && !origin.to_str().is_ok_and(|o| guard.origins.allows(o))
    {
        guard.refused("origin");
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        log.warn(
            &format!("origin {origin:?} is not in security.allowed_origins"),
            "refused a connection",
        );
        let body =
            json!({ "error": "origin_not_allowed", "message": "this origin may not connect" });
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    next.run(request).await
}

/// CORS for the API and the polling transport: any origin when no allowlist is
/// configured, else exactly the allowed ones. No credentials: nothing uses cookies.
/// Request headers are allowed by naming back the ones a preflight asks for, not
/// with `*`: the wildcard does not cover `Authorization` (Fetch standard), which an
/// editor's browser sends with a notice token (docs/notices.md).
pub fn cors(guard: &Arc<Guard>) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods(Any)
        .allow_headers(AllowHeaders::mirror_request());
    if guard.origins.allows_any() {
        return layer.allow_origin(Any);
    }
    let guard = guard.clone();
    layer.allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin.to_str().is_ok_and(|o| guard.origins.allows(o))
    }))
}
