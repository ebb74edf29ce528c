//! Serving HTTP (and Socket.IO over it) on the listener: our own accept loop over
//! hyper, because the defences start before there is a request.
//!
//! - Each accepted connection takes a lease on its address's budget (see
//!   `security::connections`) before a byte is read; over budget, it is answered
//!   429 and closed at once.
//! - hyper gets a timer, so a connection that does not send a complete request
//!   head within `server.header_timeout_secs` (or stays that long idle between
//!   requests) is closed: slowloris and silent connections hold nothing for long.
//!   (`axum::serve` runs hyper without a timer, so no such timeout applied.)
//! - Near the open-file limit, a connection is served only if it asks for
//!   `/healthz`, `/readyz` or `/metrics` (see `security::files`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use presence_core::Config;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::Instrument;

use crate::log_throttle::LogThrottle;
use crate::metrics::Metrics;
use crate::process::Process;
use crate::security::{Files, Guard, Lease, OpenFile, Room};

/// How long a connection accepted within the file reserve may take to ask.
const RESERVE_HEAD_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause after `accept` failed for want of descriptors (or memory), so the loop
/// does not spin; connections wait in the kernel's backlog meanwhile.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);
/// How often the open-file count is taken again.
const RECOUNT_EVERY: Duration = Duration::from_secs(1);

/// The HTTP server, running.
pub struct Serving {
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

/// What the accept loop needs.
struct Server {
    app: Router,
    guard: Arc<Guard>,
    files: Arc<Files>,
    metrics: Arc<Metrics>,
    head_timeout: Duration,
    over_budget: Vec<u8>,
    accept_errors: LogThrottle,
    refusals: LogThrottle,
}

/// Serves `app` on `listener` until `stop` is cancelled; then stops accepting,
/// and [`Serving::finish`] waits for open requests.
pub fn serve(
    listener: TcpListener,
    app: Router,
    process: &Process,
    config: &Config,
    stop: CancellationToken,
) -> std::io::Result<Serving> {
    let address = listener.local_addr()?;
    let server = Arc::new(Server {
        app,
        guard: process.guard.clone(),
        files: Files::new(),
        metrics: process.metrics.clone(),
        head_timeout: Duration::from_secs(config.server.header_timeout_secs),
        over_budget: canned(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            &format!(
                "too many connections from your address (at most {})",
                config.security.max_connections_per_ip
            ),
        ),
        accept_errors: LogThrottle::default(),
        refusals: LogThrottle::default(),
    });
    tracing::info!(
        %address,
        store = if config.uses_memory_store() { "memory" } else { "redis" },
        "presence-server listening"
    );
    process.spawn(server.clone().recount(stop.clone()));
    let task = process.spawn(server.accept(listener, stop));
    Ok(Serving { address, task })
}

impl Serving {
    /// Waits up to `within` for the requests still open to end.
    pub async fn finish(self, within: Duration) -> Result<(), crate::ServerError> {
        match tokio::time::timeout(within, self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(join_error)) => tracing::error!(%join_error, "HTTP task failed"),
            Err(_) => tracing::debug!("HTTP connections still open at exit"),
        }
        Ok(())
    }
}

impl Server {
    async fn accept(self: Arc<Self>, listener: TcpListener, stop: CancellationToken) {
        let connections = TaskTracker::new();
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.start(stream, peer, &connections, &stop),
                // The client gave up before we took its connection: nothing to do.
                Err(error) if is_connection_error(&error) => {}
                Err(error) => {
                    self.accept_errors
                        .warn(&error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
        drop(listener);
        connections.close();
        connections.wait().await;
    }

    /// Admits a connection and serves it in a task of its own; or answers 429 and
    /// closes it at once when its address is over budget.
    fn start(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        connections: &TaskTracker,
        stop: &CancellationToken,
    ) {
        let room = self.files.room();
        let lease = if self.guard.trusted_proxies.contains(&peer.ip()) {
            // A proxy's connections carry many clients, each counted by its
            // forwarded address when it opens a session or a stream.
            None
        } else {
            match self.guard.budget.lease(peer.ip()) {
                Ok(lease) => Some(lease),
                Err(refused) => {
                    self.guard.refused("connections_per_ip");
                    self.refusals
                        .warn(&format!("{refused}: {}", peer.ip()), "refused a connection");
                    // Best effort, without waiting: the client may not read it.
                    let _ = stream.try_write(&self.over_budget);
                    return;
                }
            }
        };
        let io = TokioIo::new(Accepted {
            stream,
            _lease: lease,
            _file: self.files.opened(),
        });
        let reserve_only = room == Room::ReserveOnly;
        if reserve_only {
            self.guard.refused("open_files");
        }
        let app = self.app.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                if reserve_only && !is_operations_path(request.uri().path()) {
                    return Ok::<_, Infallible>(overloaded());
                }
                app.oneshot(request.map(Body::new)).await
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(if reserve_only {
                RESERVE_HEAD_TIMEOUT
            } else {
                self.head_timeout
            })
            .keep_alive(!reserve_only);
        let stop = stop.clone();
        connections.spawn(
            async move {
                let connection = builder.serve_connection(io, service).with_upgrades();
                let mut connection = std::pin::pin!(connection);
                let ended = tokio::select! {
                    ended = connection.as_mut() => ended,
                    () = stop.cancelled() => {
                        // Finish the request in flight, take no new one.
                        connection.as_mut().graceful_shutdown();
                        connection.await
                    }
                };
                if let Err(error) = ended {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
            }
            .in_current_span(),
        );
    }

    /// Takes the open-file count again every [`RECOUNT_EVERY`], for the reserve
    /// and for `presence_open_files_ratio`.
    async fn recount(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(RECOUNT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.files.recount();
            self.metrics.open_files.set(self.files.used());
        }
    }
}

/// An accepted connection, and what it holds while open: a lease on its address's
/// budget and its place in the count of open files. It lives as long as the
/// socket, through a websocket upgrade too (hyper hands this very object over).
struct Accepted {
    stream: TcpStream,
    _lease: Option<Lease>,
    _file: OpenFile,
}

impl AsyncRead for Accepted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The paths served within the file reserve: what tells an operator how the
/// server is doing.
fn is_operations_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The answer to anything else within the file reserve.
fn overloaded() -> Response<Body> {
    let body = json!({
        "error": "overloaded",
        "message": "the server is at its open-file limit; try again later",
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("a valid header value"),
    );
    headers.insert(
        header::CONNECTION,
        "close".parse().expect("a valid header value"),
    );
    response
}

/// A whole HTTP response, written before the request was read.
fn canned(status: StatusCode, code: &str, message: &str) -> Vec<u8> {
    let body = json!({ "error": code, "message": message }).to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Errors of one connection that `accept` reports, not of the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canned_refusal_is_a_complete_response() {
        let bytes = canned(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "at most 1",
        );
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"], "too_many_connections");
    }
}
