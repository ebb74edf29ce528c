//! Engine.IO sessions take their lease on the address's budget (see
//! `security::connections`) when they open: a long-polling session outlives every
//! request that carries it, and behind a trusted proxy a websocket's connection is
//! the proxy's. The lease rides in the handshake request's extensions, which
//! engineioxide keeps for the session's whole life, so it is given back exactly
//! when the session's memory is.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::detach::opens_a_session;
use crate::security::{Guard, Lease, client_address, via_trusted_proxy};

/// A session's lease, in its handshake request's extensions (which must be `Clone`).
#[derive(Clone)]
pub struct SessionLease(#[allow(dead_code)] Arc<Lease>);

pub async fn lease_sessions(
    State(guard): State<Arc<Guard>>,
    mut request: Request,
    next: Next,
) -> Response {
    if opens_a_session(request.uri()) && needs_a_lease(&request, &guard) {
        let client = client_address(
            request.extensions(),
            request.headers(),
            &guard.trusted_proxies,
        );
        if let Some(ip) = client {
            match guard.budget.lease(ip) {
                Ok(lease) => {
                    request
                        .extensions_mut()
                        .insert(SessionLease(Arc::new(lease)));
                }
                Err(refused) => {
                    guard.refused("connections_per_ip");
                    tracing::debug!(%ip, "{refused}");
                    let body =
                        json!({ "error": "too_many_connections", "message": refused.to_string() });
                    return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                }
            }
        }
    }
    next.run(request).await
}

/// A long-polling session always; a websocket only behind a trusted proxy (a
/// direct one lives on its own connection, which holds a lease already).
fn needs_a_lease(request: &Request, guard: &Guard) -> bool {
    is_polling(request.uri()) || via_trusted_proxy(request.extensions(), &guard.trusted_proxies)
}

fn is_polling(uri: &Uri) -> bool {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair == "transport=polling")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_is_told_from_websocket_by_the_query() {
        let polling = |uri: &str| is_polling(&uri.parse().expect("a valid URI"));
        assert!(polling("/socket.io/?EIO=4&transport=polling&t=x"));
        assert!(!polling("/socket.io/?EIO=4&transport=websocket"));
        assert!(!polling("/socket.io/?EIO=4&transport=pollingx"));
    }
}
