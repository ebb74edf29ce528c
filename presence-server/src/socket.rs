//! The Socket.IO side: the layer's settings and the `viewing`, `watch`, connect
//! and disconnect handlers. Handlers record what a socket asks for, in the order
//! it asks; workers carry it to the store and the hub answers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use presence_core::viewing::{ViewingError, ViewingRequest};
use presence_core::watch::parse_watch_list;
use presence_core::{Config, IdError, PostId, SessionId};
use serde_json::Value;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::DisconnectReason;
use socketioxide::{SocketIo, TransportType};
use tracing::{Instrument, Span};

use crate::budget::EventBudget;
use crate::hub::{HubHandle, ToHub};
use crate::metrics::Metrics;
use crate::process::Process;
use crate::registry::{Session, Sessions};
use crate::security::Guard;
use crate::session::WantError;
use crate::wire;
use crate::worker::Workers;

/// Tungstenite's read buffer per websocket. The default (128 KiB, shrunk after use)
/// costs several KiB per idle socket; our frames are tens of bytes. Measured
/// (docs/architecture.md): 28.8 → 25.1 KiB per idle socket.
const WS_READ_BUFFER: usize = 256;

/// What the socket handlers need from the rest of the process.
struct SocketParts {
    sessions: Sessions,
    workers: Workers,
    hub: HubHandle,
    metrics: Arc<Metrics>,
    guard: Arc<Guard>,
    span: Span,
}

/// What every connection's handlers share: one `Arc` per handler, so a reader's
/// handlers cost a few words each.
struct Context {
    parts: SocketParts,
    max_watch_posts: usize,
}

/// Builds the Socket.IO layer with the handlers registered.
pub fn layer(config: &Config, process: &Process) -> (SocketIoLayer, SocketIo) {
    // One limit for every way in: a `viewing` is under 100 bytes, and the polling
    // transport may batch a few packets in one payload.
    let max_message = config.security.max_message_bytes;
    let mut builder = SocketIo::builder()
        .ping_interval(Duration::from_secs(config.server.ping_interval_secs))
        .ping_timeout(Duration::from_secs(config.server.ping_timeout_secs))
        .ws_read_buffer_size(WS_READ_BUFFER)
        .max_payload(max_message as u64)
        .ws_max_message_size(max_message)
        .ws_max_frame_size(max_message)
        // A session that has not joined the namespace by then is closed, and its
        // memory freed (socketioxide holds it until this timeout even once the
        // Engine.IO session is gone).
        .connect_timeout(Duration::from_secs(config.server.connect_timeout_secs));
    if config.server.websocket_only {
        builder = builder.transports([TransportType::Websocket]);
    }
    let (layer, io) = builder.build_layer();

    let context = Arc::new(Context {
        parts: SocketParts {
            sessions: process.sessions.clone(),
            workers: process.workers.clone(),
            hub: process.hub.clone(),
            metrics: process.metrics.clone(),
            guard: process.guard.clone(),
            span: process.span.clone(),
        },
        max_watch_posts: config.security.max_watch_posts,
    });
    // Handlers are registered in a connect *middleware*: socketioxide runs it before
    // acknowledging the connection, while the connect handler runs only after.
    // A client that emits `viewing` right in its `connect` callback (the 2015 client
    // does) would otherwise race the registration and be silently dropped.
    let register = {
        let context = context.clone();
        move |socket: SocketRef| {
            let context = context.clone();
            async move { register_handlers(&socket, context) }
        }
    };
    // socketioxide calls the connect handler right after it marks the socket
    // connected (it refuses emits until then): answers the hub held for it can go
    // now. The closure's body runs in that call; only the (empty) future is spawned.
    let connected = move |socket: SocketRef| {
        tracing::debug!(session = %socket.id, "connected");
        if let Ok(id) = SessionId::parse(socket.id.as_str()) {
            context.parts.hub.send(ToHub::Connected(id));
        }
        std::future::ready(())
    };
    io.ns("/", connected.with(register));
    (layer, io)
}

/// Registers the socket's session and handlers. (Its address's budget was
/// charged when its connection, or its long-polling session, opened.)
fn register_handlers(socket: &SocketRef, context: Arc<Context>) -> Result<(), Infallible> {
    let SocketParts {
        guard, sessions, ..
    } = &context.parts;
    let Ok(session) = SessionId::parse(socket.id.as_str()) else {
        // Socket.IO ids are URL-safe base64, so this cannot happen; if it ever does,
        // the socket simply is not counted.
        tracing::error!(sid = %socket.id, "unexpected socket id format");
        return Ok(());
    };
    let session = sessions.add(
        session,
        socket.clone(),
        EventBudget::per_second(guard.viewing_per_second),
    );

    // The handlers are plain closures returning a future, not async closures:
    // socketioxide calls the closure in the order packets arrive and only then
    // spawns the future. The wish is recorded in the closure, so a socket that says
    // `viewing 13` then `viewing 7` ends on 7, whatever order the tasks run in.
    // They hold the session weakly: the registry owns it, and the session holds
    // the socket.
    socket.on(wire::WATCH, {
        let (context, session) = (context.clone(), session.clone());
        move |socket: SocketRef, TryData(payload): TryData<Value>| {
            let session = session.upgrade();
            let span = context.session_span(session.as_deref());
            span.in_scope(|| {
                let session = session?;
                let posts = context.admit_watch(&session, &socket, payload)?;
                context.parts.hub.send(ToHub::Watching { session, posts });
                Some(())
            });
            std::future::ready(())
        }
    });

    socket.on(wire::VIEWING, {
        let (context, session) = (context.clone(), session.clone());
        move |socket: SocketRef, TryData(payload): TryData<Value>| {
            context.parts.metrics.viewing_events.inc();
            let session = session.upgrade();
            let span = context.session_span(session.as_deref());
            let wanted = span.in_scope(|| {
                let session = session?;
                context
                    .want_viewing(&session, &socket, payload)
                    .then_some(session)
            });
            let workers = context.parts.workers.clone();
            async move {
                if let Some(wanted) = wanted {
                    workers.drive(wanted).await;
                }
            }
            .instrument(span)
        }
    });

    socket.on_disconnect(move |reason: DisconnectReason| {
        let SocketParts {
            sessions,
            workers,
            hub,
            metrics,
            ..
        } = &context.parts;
        metrics.disconnected(reason);
        // Forgotten here at once (its connection slot comes back with it); its
        // worker then removes it from the store.
        let closed = session
            .upgrade()
            .and_then(|session| sessions.remove(session.id()));
        if let Some(closed) = &closed {
            hub.send(ToHub::Closed(closed.id().clone()));
        }
        let span = context.session_span(closed.as_deref());
        let workers = workers.clone();
        async move {
            if let Some(closed) = closed {
                tracing::debug!("disconnected");
                workers.drive(closed).await;
            }
        }
        .instrument(span)
    });
    Ok(())
}

impl Context {
    /// A debug span: with debug logging every line of the session carries its id;
    /// at the default level it is disabled and costs nothing, so it is made per
    /// event instead of being kept in every session.
    fn session_span(&self, session: Option<&Session>) -> Span {
        match session {
            Some(session) => {
                tracing::debug_span!(parent: &self.parts.span, "session", session = %session.id())
            }
            None => Span::none(),
        }
    }

    /// The synchronous part of `viewing`: the checks, then the wish. Whether
    /// `session` now wants the post `payload` names (its worker must be driven).
    fn want_viewing(
        &self,
        session: &Session,
        socket: &SocketRef,
        payload: Result<Value, impl std::error::Error>,
    ) -> bool {
        let SocketParts {
            guard,
            metrics,
            sessions,
            ..
        } = &self.parts;
        if !within_budget(session, guard, socket) {
            return false;
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
                wire::refuse(socket, error.code(), &error.to_string());
                return false;
            }
        };
        tracing::debug!(post = %request.post, "viewing");
        match sessions.want(session, request.post) {
            Ok(wanted) => wanted,
            Err(error @ WantError::TooManyPosts(_)) => {
                guard.refused("posts_per_socket");
                wire::refuse(socket, "too_many_posts", &error.to_string());
                false
            }
        }
    }

    /// The synchronous part of `watch`, like `viewing`'s: the last list a socket
    /// sent is the one kept, and its rooms are joined now. The posts the hub must
    /// answer, or `None` when refused.
    fn admit_watch(
        &self,
        session: &Session,
        socket: &SocketRef,
        payload: Result<Value, impl std::error::Error>,
    ) -> Option<Vec<PostId>> {
        let SocketParts {
            guard,
            metrics,
            sessions,
            ..
        } = &self.parts;
        if !within_budget(session, guard, socket) {
            return None;
        }
        match parse_watch_list(&payload.unwrap_or(Value::Null), self.max_watch_posts) {
            Ok(posts) => sessions.watch(session, posts.clone()).then_some(posts),
            Err(error) => {
                metrics.viewing_rejected.inc();
                wire::refuse(socket, error.code(), &error.to_string());
                None
            }
        }
    }
}

/// Counts an event against the socket's budget. False when it is spent; the
/// first refusal of a run is told to the client, the rest are only counted.
fn within_budget(session: &Session, guard: &Guard, socket: &SocketRef) -> bool {
    if session.budget.allow() {
        return true;
    }
    guard.refused("viewing_per_second");
    if session.budget.first_refusal() {
        wire::refuse(
            socket,
            "rate_limited",
            "too many viewing or watch events; slow down",
        );
    }
    false
}
