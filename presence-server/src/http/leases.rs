//! Engine.IO sessions take their lease on the address's budget (see
//! `security::connections`) when they open: a long-polling session outlives every
//! request that carries it, and behind a trusted proxy a websocket's connection is
//! the proxy's. The lease rides in the handshake request's extensions, which
//! engineioxide keeps for the session's whole life, so it is given back exactly
//! when the session's memory is.
//!
//! The same hold tells which long-polling sessions are open, so a websocket upgrade
//! that names a session (`sid`) that does not exist is refused with 400 at once;
//! engineioxide would answer 101 and close the websocket only then.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::json;

use super::detach::opens_a_session;
use crate::security::{Guard, Lease, client_address, via_trusted_proxy};

/// Largest handshake answer read to learn its session id (they are ~100 bytes).
const HANDSHAKE_BODY_LIMIT: usize = 16 * 1024;

/// What an open Engine.IO session holds, in its handshake request's extensions
/// (which must be `Clone`): its lease, if it needs one.
#[derive(Clone)]
pub struct SessionHold {
    _held: Arc<Held>,
}

struct Held {
    _lease: Option<Lease>,
}

/// The layer's state: the guard, and the long-polling sessions open now.
pub struct Sessions {
    guard: Arc<Guard>,
    /// Session id → its hold, which lives exactly as long as the session.
    polling: Mutex<HashMap<String, Weak<Held>>>,
}

impl Sessions {
    pub fn new(guard: Arc<Guard>) -> Arc<Self> {
        Arc::new(Self {
            guard,
            polling: Mutex::default(),
        })
    }

    fn opened(&self, sid: String, held: &Arc<Held>) {
        let mut polling = self.polling.lock();
        // Sessions that ended are dropped as the map would double: it stays within
        // twice the sessions open.
        if polling.len() >= 1024 && polling.len() == polling.capacity() {
            polling.retain(|_, held| held.strong_count() > 0);
            presence_core::maps::shrink_if_sparse(&mut polling);
        }
        polling.insert(sid, Arc::downgrade(held));
    }

    fn is_open(&self, sid: &str) -> bool {
        self.polling
            .lock()
            .get(sid)
            .is_some_and(|held| held.strong_count() > 0)
    }
}

pub async fn lease_sessions(
    State(sessions): State<Arc<Sessions>>,
    mut request: Request,
    next: Next,
) -> Response {
    let guard = &sessions.guard;
    if let Some(sid) = upgrade_of(request.uri())
        && !sessions.is_open(sid)
    {
        guard.refused("unknown_session");
        let body = json!({ "error": "unknown_session", "message": "no such session to upgrade" });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    if !opens_a_session(request.uri()) {
        return next.run(request).await;
    }
    let mut lease = None;
    if needs_a_lease(&request, guard) {
        let client = client_address(
            request.extensions(),
            request.headers(),
            &guard.trusted_proxies,
        );
        if let Some(ip) = client {
            match guard.budget.lease(ip) {
                Ok(taken) => lease = Some(taken),
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
    let held = Arc::new(Held { _lease: lease });
    request.extensions_mut().insert(SessionHold {
        _held: held.clone(),
    });
    let polling = is_polling(request.uri());
    let response = next.run(request).await;
    if !polling || response.status() != StatusCode::OK {
        return response;
    }
    // Learn the new session's id from its open packet: `0{"sid":"…",…}`.
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, HANDSHAKE_BODY_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(sid) = session_id(&bytes) {
        sessions.opened(sid, &held);
    }
    Response::from_parts(parts, bytes.into())
}

/// The session a websocket upgrade names (`transport=websocket&sid=…`).
fn upgrade_of(uri: &Uri) -> Option<&str> {
    if !uri.path().starts_with("/socket.io") {
        return None;
    }
    let query = uri.query()?;
    let pairs = || query.split('&');
    if !pairs().any(|pair| pair == "transport=websocket") {
        return None;
    }
    pairs().find_map(|pair| pair.strip_prefix("sid="))
}

/// The `sid` of an Engine.IO open packet.
fn session_id(open_packet: &[u8]) -> Option<String> {
    let json = open_packet.strip_prefix(b"0")?;
    let open: serde_json::Value = serde_json::from_slice(json).ok()?;
    Some(open.get("sid")?.as_str()?.to_owned())
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
    fn upgrades_name_their_session_and_open_packets_carry_it() {
        let upgrade = |uri: &str| upgrade_of(&uri.parse().expect("a valid URI")).map(str::to_owned);
        assert_eq!(
            upgrade("/socket.io/?EIO=4&transport=websocket&sid=abc"),
            Some("abc".into())
        );
        assert_eq!(upgrade("/socket.io/?EIO=4&transport=websocket"), None);
        assert_eq!(upgrade("/socket.io/?EIO=4&transport=polling&sid=abc"), None);
        assert_eq!(upgrade("/api/posts?transport=websocket&sid=abc"), None);
        assert_eq!(
            session_id(br#"0{"sid":"AAAAAAAAAAAAAAHs","upgrades":["websocket"]}"#),
            Some("AAAAAAAAAAAAAAHs".into())
        );
        assert_eq!(session_id(b"40"), None);
    }

    #[test]
    fn polling_is_told_from_websocket_by_the_query() {
        let polling = |uri: &str| is_polling(&uri.parse().expect("a valid URI"));
        assert!(polling("/socket.io/?EIO=4&transport=polling&t=x"));
        assert!(!polling("/socket.io/?EIO=4&transport=websocket"));
        assert!(!polling("/socket.io/?EIO=4&transport=pollingx"));
    }
}
