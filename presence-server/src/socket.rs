//! The Socket.IO side: the layer's settings and the `viewing`, `watch` and
//! disconnect handlers.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use presence_core::viewing::{ViewingError, ViewingRequest};
use presence_core::watch::parse_watch_list;
use presence_core::{Config, IdError, PostId, SessionId, Store};
use serde_json::{Value, json};
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::DisconnectReason;
use socketioxide::{SocketIo, TransportType};
use tracing::{Instrument, Span};

use crate::metrics::Metrics;
use crate::security::{self, Guard, TooManyConnections};
use crate::sessions::{Sessions, WantError};

/// Tungstenite's read buffer per websocket. The default (128 KiB, shrunk after use)
/// costs several KiB per idle socket; our frames are tens of bytes. Measured in
/// `../shared/design.md`: 28.8 → 25.1 KiB per idle socket.
const WS_READ_BUFFER: usize = 256;

/// What every connection's handlers share.
#[derive(Clone)]
struct Context {
    store: Arc<dyn Store>,
    sessions: Sessions,
    metrics: Arc<Metrics>,
    guard: Arc<Guard>,
    max_watch_posts: usize,
    span: Span,
}

/// Builds the Socket.IO layer with the handlers registered.
pub fn layer(
    config: &Config,
    store: Arc<dyn Store>,
    sessions: Sessions,
    metrics: Arc<Metrics>,
    guard: Arc<Guard>,
    span: Span,
) -> (SocketIoLayer, SocketIo) {
    // One limit for every way in: a `viewing` is under 100 bytes, and the polling
    // transport may batch a few packets in one payload.
    let max_message = config.security.max_message_bytes;
    let mut builder = SocketIo::builder()
        .ping_interval(Duration::from_secs(config.server.ping_interval_secs))
        .ping_timeout(Duration::from_secs(config.server.ping_timeout_secs))
        .ws_read_buffer_size(WS_READ_BUFFER)
        .max_payload(max_message as u64)
        .ws_max_message_size(max_message)
        .ws_max_frame_size(max_message);
    if config.server.websocket_only {
        builder = builder.transports([TransportType::Websocket]);
    }
    let (layer, io) = builder.build_layer();

    let context = Context {
        store,
        sessions,
        metrics,
        guard,
        max_watch_posts: config.security.max_watch_posts,
        span,
    };
    // Handlers are registered in a connect *middleware*: socketioxide runs it before
    // acknowledging the connection, while the connect handler runs only after.
    // A client that emits `viewing` right in its `connect` callback (the 2015 client
    // does) would otherwise race the registration and be silently dropped.
    let register = move |socket: SocketRef| {
        let context = context.clone();
        async move { register_handlers(&socket, context) }
    };
    io.ns("/", connected.with(register));
    (layer, io)
}

async fn connected(socket: SocketRef) {
    tracing::debug!(session = %socket.id, "connected");
}

/// Admits the socket (or refuses it: too many connections from its address) and
/// registers its handlers.
fn register_handlers(socket: &SocketRef, context: Context) -> Result<(), TooManyConnections> {
    let Context {
        store,
        sessions,
        metrics,
        guard,
        max_watch_posts,
        span,
    } = context;
    // Shared (handlers must be Clone); the slot is given back when the last holder,
    // the disconnect handler, is dropped after it ran.
    let permit = match security::client_ip(socket.req_parts(), &guard.trusted_proxies) {
        Some(ip) => match guard.connections.acquire(ip) {
            Ok(permit) => Some(Arc::new(permit)),
            Err(refused) => {
                guard.refused("connections_per_ip");
                tracing::warn!(%ip, "{refused}");
                return Err(refused);
            }
        },
        None => None,
    };
    let Ok(session) = SessionId::parse(socket.id.as_str()) else {
        // Socket.IO ids are URL-safe base64, so this cannot happen; if it ever does,
        // the socket simply is not counted.
        tracing::error!(sid = %socket.id, "unexpected socket id format");
        return Ok(());
    };
    sessions.add(session.clone(), socket.clone());
    metrics.connections.inc();
    // A debug span: at the default info level it is disabled and costs a reader
    // nothing; with debug logging every line of the session carries its id.
    let span = tracing::debug_span!(parent: &span, "session", session = %session);
    let rate = NonZeroU32::new(guard.viewing_per_second).unwrap_or(NonZeroU32::MIN);
    let limiter = Arc::new(RateLimit {
        limiter: RateLimiter::direct(
            Quota::per_second(rate)
                .allow_burst(rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN))),
        ),
        reported: AtomicBool::new(false),
    });

    // The handlers are plain closures returning a future, not async closures:
    // socketioxide calls the closure in the order packets arrive and only then
    // spawns the future. The wish is recorded in the closure, so a socket that says
    // `viewing 13` then `viewing 7` ends on 7, whatever order the tasks run in.
    let on_watch = {
        let (store, sessions, session) = (store.clone(), sessions.clone(), session.clone());
        let (metrics, guard, limiter) = (metrics.clone(), guard.clone(), limiter.clone());
        // The synchronous part, like `viewing`'s: the last list a socket sent is the
        // one kept. `None` when refused.
        let admit = {
            let sessions = sessions.clone();
            move |socket: &SocketRef, payload: Result<Value, _>| {
                if !within_budget(&limiter, &guard, socket) {
                    return None;
                }
                match parse_watch_list(&payload.unwrap_or(Value::Null), max_watch_posts) {
                    Ok(posts) => sessions.watch(&session, posts.clone()).then_some(posts),
                    Err(error) => {
                        metrics.viewing_rejected.inc();
                        refuse(socket, error.code(), &error.to_string());
                        None
                    }
                }
            }
        };
        move |socket: SocketRef, TryData(payload): TryData<Value>| {
            let watched = admit(&socket, payload);
            let (store, sessions) = (store.clone(), sessions.clone());
            async move {
                if let Some(posts) = watched {
                    answer_watch(&socket, &posts, &*store, &sessions).await;
                }
            }
        }
    };
    socket.on("watch", on_watch);

    let on_viewing = {
        let (store, sessions, session) = (store.clone(), sessions.clone(), session.clone());
        let (metrics, guard, span) = (metrics.clone(), guard.clone(), span.clone());
        // The synchronous part: checks, then the wish. `None` when refused.
        let admit = {
            let sessions = sessions.clone();
            move |socket: &SocketRef, payload: Result<Value, _>| {
                metrics.viewing_events.inc();
                if !within_budget(&limiter, &guard, socket) {
                    return None;
                }
                let request = payload
                    .map_err(|_| ViewingError::Id(IdError::Missing))
                    .and_then(|value| ViewingRequest::from_json(&value))
                    .and_then(|request| {
                        guard.check_token(&request)?;
                        Ok(request)
                    });
                let request = match request {
                    Ok(request) => request,
                    Err(error) => {
                        metrics.viewing_rejected.inc();
                        refuse(socket, error.code(), &error.to_string());
                        return None;
                    }
                };
                tracing::debug!(post = %request.post, "viewing");
                match sessions.want(&session, request.post) {
                    Ok(wanted) => wanted,
                    Err(error @ WantError::TooManyPosts(_)) => {
                        guard.refused("posts_per_socket");
                        refuse(socket, "too_many_posts", &error.to_string());
                        None
                    }
                }
            }
        };
        move |socket: SocketRef, TryData(payload): TryData<Value>| {
            let wanted = span.in_scope(|| admit(&socket, payload));
            let (store, sessions) = (store.clone(), sessions.clone());
            async move {
                if let Some(wanted) = wanted {
                    sessions.drive(&wanted, &*store).await;
                }
            }
            .instrument(span.clone())
        }
    };
    socket.on("viewing", on_viewing);

    socket.on_disconnect(move |reason: DisconnectReason| {
        // Dropping the permit gives the address's connection slot back.
        drop(permit);
        metrics.connections.dec();
        metrics.disconnected(reason);
        let closed = sessions.remove(&session);
        async move {
            if let Some(closed) = closed {
                tracing::debug!("disconnected");
                sessions.drive(&closed, &*store).await;
            }
        }
        .instrument(span)
    });
    Ok(())
}

/// Tells a socket the counts of the posts it now watches. Pushes follow from the
/// fan-out, which also hears of these answers in case one was overtaken by a push.
async fn answer_watch(
    socket: &SocketRef,
    posts: &[PostId],
    store: &dyn Store,
    sessions: &Sessions,
) {
    if posts.is_empty() {
        return;
    }
    match store.viewer_counts(posts).await {
        Ok(counts) => {
            for (post, count) in posts.iter().zip(counts) {
                let _ = socket.emit("viewers", &(post.as_str(), count));
                sessions.answered(post.clone(), count);
            }
        }
        Err(error) => {
            tracing::debug!(%error, "cannot read watched counts");
            let _ = socket.emit(
                "error",
                &json!({
                    "error": "unavailable",
                    "message": "counts are unavailable right now; they follow when the store is back",
                }),
            );
        }
    }
}

/// A socket's `viewing` and `watch` budget: `viewing_per_second`, with bursts of twice that.
struct RateLimit {
    limiter: DefaultDirectRateLimiter,
    /// Whether the current run of refusals was reported: one error per run, so a
    /// flood is not answered with a flood.
    reported: AtomicBool,
}

impl RateLimit {
    fn allow(&self) -> bool {
        let allowed = self.limiter.check().is_ok();
        if allowed {
            self.reported.store(false, Ordering::Relaxed);
        }
        allowed
    }

    fn first_refusal(&self) -> bool {
        !self.reported.swap(true, Ordering::Relaxed)
    }
}

/// Counts an event against the socket's budget. False when it is spent; the
/// first refusal of a run is told to the client, the rest are only counted.
fn within_budget(limiter: &RateLimit, guard: &Guard, socket: &SocketRef) -> bool {
    if limiter.allow() {
        return true;
    }
    guard.refused("viewing_per_second");
    if limiter.first_refusal() {
        refuse(
            socket,
            "rate_limited",
            "too many viewing or watch events; slow down",
        );
    }
    false
}

/// Tells the client why its `viewing` or `watch` was refused. Nothing is written
/// anywhere.
fn refuse(socket: &SocketRef, code: &str, message: &str) {
    tracing::debug!(code, message, "refused viewing");
    let _ = socket.emit("error", &json!({ "error": code, "message": message }));
}
