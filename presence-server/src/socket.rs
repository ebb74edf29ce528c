//! The Socket.IO side: the layer's settings and the `viewing` / disconnect handlers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use presence_core::{Config, IdError, PostId, SessionId, Store};
use serde_json::{Value, json};
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{SocketIo, TransportType};

use tracing::{Instrument, Span};

use crate::metrics::Metrics;
use crate::sessions::Sessions;

/// Tungstenite's read buffer per websocket. The default (128 KiB, shrunk after use)
/// costs several KiB per idle socket; our frames are tens of bytes. Measured in
/// `../shared/design.md`: 28.8 → 25.1 KiB per idle socket.
const WS_READ_BUFFER: usize = 256;
/// Largest message a client may send. A `viewing` event is under 100 bytes; the
/// polling transport may batch a few packets in one payload.
const MAX_CLIENT_MESSAGE: usize = 1024;

/// Builds the Socket.IO layer with the handlers registered.
pub fn layer(
    config: &Config,
    store: Arc<dyn Store>,
    sessions: Sessions,
    metrics: Arc<Metrics>,
    span: Span,
) -> (SocketIoLayer, SocketIo) {
    let mut builder = SocketIo::builder()
        .ping_interval(Duration::from_secs(config.server.ping_interval_secs))
        .ping_timeout(Duration::from_secs(config.server.ping_timeout_secs))
        .ws_read_buffer_size(WS_READ_BUFFER)
        .max_payload(MAX_CLIENT_MESSAGE as u64)
        .ws_max_message_size(MAX_CLIENT_MESSAGE)
        .ws_max_frame_size(MAX_CLIENT_MESSAGE);
    if config.server.websocket_only {
        builder = builder.transports([TransportType::Websocket]);
    }
    let (layer, io) = builder.build_layer();

    // Handlers are registered in a connect *middleware*: socketioxide runs it before
    // acknowledging the connection, while the connect handler runs only after.
    // A client that emits `viewing` right in its `connect` callback (the 2015 client
    // does) would otherwise race the registration and be silently dropped.
    let register = move |socket: SocketRef| {
        let store = store.clone();
        let sessions = sessions.clone();
        let metrics = metrics.clone();
        let span = span.clone();
        async move {
            register_handlers(&socket, store, sessions, metrics, span);
            Ok::<(), Infallible>(())
        }
    };
    io.ns("/", connected.with(register));
    (layer, io)
}

async fn connected(socket: SocketRef) {
    tracing::debug!(session = %socket.id, "connected");
}

fn register_handlers(
    socket: &SocketRef,
    store: Arc<dyn Store>,
    sessions: Sessions,
    metrics: Arc<Metrics>,
    span: Span,
) {
    let Ok(session) = SessionId::parse(socket.id.as_str()) else {
        // Socket.IO ids are URL-safe base64, so this cannot happen; if it ever does,
        // the socket simply is not counted.
        tracing::error!(sid = %socket.id, "unexpected socket id format");
        return;
    };
    sessions.add(session.clone(), socket.clone());
    metrics.connections.inc();
    let span = tracing::info_span!(parent: &span, "session", session = %session);

    // The handlers are plain closures returning a future, not async closures:
    // socketioxide calls the closure in the order packets arrive and only then
    // spawns the future. The wish is recorded in the closure, so a socket that says
    // `viewing 13` then `viewing 7` ends on 7, whatever order the tasks run in.
    let on_viewing = {
        let (store, sessions, session) = (store.clone(), sessions.clone(), session.clone());
        let (metrics, span) = (metrics.clone(), span.clone());
        move |socket: SocketRef, TryData(payload): TryData<Value>| {
            let _entered = span.enter();
            metrics.viewing_events.inc();
            let wanted = payload
                .map_err(|_| IdError::Missing)
                .and_then(|value| PostId::from_json(&value))
                .inspect_err(|error| {
                    metrics.viewing_rejected.inc();
                    reject(&socket, error);
                })
                .ok()
                .and_then(|post| {
                    tracing::debug!(%post, "viewing");
                    sessions.want(&session, post)
                });
            async move {
                if let Some(wanted) = wanted {
                    sessions.drive(&wanted, &*store).await;
                }
            }
            .instrument(span.clone())
        }
    };
    socket.on("viewing", on_viewing);

    socket.on_disconnect(move || {
        metrics.connections.dec();
        let closed = sessions.remove(&session);
        async move {
            if let Some(closed) = closed {
                tracing::debug!("disconnected");
                sessions.drive(&closed, &*store).await;
            }
        }
        .instrument(span)
    });
}

/// Tells the client why its `viewing` was refused. Nothing is written anywhere.
fn reject(socket: &SocketRef, error: &IdError) {
    tracing::debug!(session = %socket.id, %error, "rejected viewing");
    let _ = socket.emit(
        "error",
        &json!({ "error": error.code(), "message": error.to_string() }),
    );
}
