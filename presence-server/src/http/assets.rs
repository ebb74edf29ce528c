//! The embed script and the demo page, compiled into the binary so a deployment is
//! one file.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

const EMBED_SCRIPT: &str = include_str!("../../../embed/presence.js");
const DEMO_PAGE: &str = include_str!("../../../embed/demo.html");
const ARCHIVE_PAGE: &str = include_str!("../../../embed/archive.html");

/// A strong validator over the exact bytes served, so a browser revalidates with
/// `If-None-Match` after `max-age` and pays 304s, not downloads.
static EMBED_ETAG: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = presence_core::fnv::fnv1a(EMBED_SCRIPT.as_bytes());
    HeaderValue::try_from(format!("\"{hash:08x}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"embed\""))
});

/// Five minutes: a new release reaches every page within that, and the ETag makes
/// the revalidation cheap.
const EMBED_CACHE_CONTROL: &str = "public, max-age=300";

pub async fn embed_script(headers: HeaderMap) -> Response {
    let etag = EMBED_ETAG.clone();
    let cache_headers = [
        (header::ETAG, etag.clone()),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(EMBED_CACHE_CONTROL),
        ),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim().as_bytes() == etag.as_bytes() || tag.trim() == "*")
        });
    if matches {
        return (StatusCode::NOT_MODIFIED, cache_headers).into_response();
    }
    (
        cache_headers,
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        EMBED_SCRIPT,
    )
        .into_response()
}

pub async fn demo_page() -> Html<&'static str> {
    Html(DEMO_PAGE)
}

/// A demo archive page: many posts' badges, live over one connection (`watch`).
pub async fn archive_page() -> Html<&'static str> {
    Html(ARCHIVE_PAGE)
}
