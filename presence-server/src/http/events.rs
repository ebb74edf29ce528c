//! `GET /api/posts/{id}/events`: a post's count as Server-Sent Events, for
//! dashboards and scripts that do not speak Socket.IO.
//!
//! Each stream is fed by the hub (see `feeds.rs`), so it gets exactly the
//! coalesced updates a socket in the post's room gets: the current figures first,
//! then one event per change. A stream lives on its connection, which holds its
//! address's lease; behind a trusted proxy it takes a lease of its own for the
//! forwarded client (`security::connections`). It ends when the server shuts down.

use std::convert::Infallible;

use axum::extract::{Path, Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use presence_core::PostId;
use serde_json::json;
use tokio_stream::wrappers::WatchStream;

use super::{ApiError, AppState};
use crate::hub::ToHub;
use crate::security;

pub async fn post_events(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let post = PostId::parse(&raw)?;
    let (parts, _) = request.into_parts();
    let guard = &state.guard;
    let permit = match security::client_ip(&parts, &guard.trusted_proxies) {
        Some(ip) if security::via_trusted_proxy(&parts.extensions, &guard.trusted_proxies) => {
            Some(guard.budget.lease(ip).map_err(|_| {
                guard.refused("connections_per_ip");
                ApiError::TooManyStreams
            })?)
        }
        _ => None,
    };
    let open = OpenStream::new(&state, permit);
    let (figures, first) = state.feeds.subscribe(&post);
    if first {
        state.hub.send(ToHub::FeedOpened(post.clone()));
    }
    let counts = WatchStream::new(figures)
        // `None` until the hub has read the first figures.
        .filter_map(std::future::ready)
        .map(move |counts| {
            // Keeps the address's slot and the gauge until the stream is dropped.
            let _open = &open;
            let data = json!({
                "post_id": post.as_str(),
                "viewers": counts.viewers,
                "views": counts.views,
            });
            Ok(Event::default().event("viewers").data(data.to_string()))
        })
        .take_until(state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(counts).keep_alive(KeepAlive::default()))
}

/// What an open stream holds: its connection slot, and its place in the gauge.
struct OpenStream {
    _permit: Option<security::Lease>,
    gauge: prometheus_client::metrics::gauge::Gauge,
}

impl OpenStream {
    fn new(state: &AppState, permit: Option<security::Lease>) -> Self {
        let gauge = state.metrics.event_streams.clone();
        gauge.inc();
        Self {
            _permit: permit,
            gauge,
        }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
