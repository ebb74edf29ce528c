//! Baseline: a bare socketioxide server that only joins rooms and answers.
//!
//! No store, no sessions registry, no fan-out: `viewing <post>` moves the socket to
//! room `post:<id>` and answers `viewers (post, local room size)` and
//! `views (post, 0)`. With `--push` it also pushes the new size to the room on
//! every change (the floor for fan-out latency). It uses presence-server's
//! socketioxide settings unless `--defaults`, so the difference in RSS per
//! connection is our own per-reader overhead (with `--detach`, which copies request
//! heads as presence-server does, so that saving is not counted as ours).
//!
//! cargo run --release -p presence-bench --bin bare -- --listen 127.0.0.1:3200

// A test's (or a load generator's) unwrap is its assertion.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};
use socketioxide::handler::ConnectHandler;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:3200")]
    listen: SocketAddr,
    /// socketioxide's defaults instead of presence-server's memory settings.
    #[arg(long)]
    defaults: bool,
    /// Also push the room size to the room on every join and leave.
    #[arg(long)]
    push: bool,
    /// Copy each Socket.IO request's head out of hyper's read buffer, as
    /// presence-server does (`presence_server::http::detach_socket_request`).
    #[arg(long)]
    detach: bool,
    /// Seconds between Engine.IO pings (presence-server's default is 10).
    #[arg(long, default_value_t = 10)]
    ping_interval: u64,
}

/// Local room sizes, so an answer does not walk the room.
#[derive(Clone, Default)]
struct Rooms(Arc<Mutex<HashMap<String, u64>>>);

impl Rooms {
    fn add(&self, post: &str, delta: i64) -> u64 {
        let mut rooms = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let size = rooms.entry(post.to_owned()).or_default();
        *size = size.saturating_add_signed(delta);
        *size
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut builder = SocketIo::builder()
        .ping_interval(Duration::from_secs(args.ping_interval))
        .ping_timeout(Duration::from_secs(10));
    if !args.defaults {
        // The same settings as presence-server/src/socket.rs.
        builder = builder
            .ws_read_buffer_size(256)
            .max_payload(1024)
            .ws_max_message_size(1024)
            .ws_max_frame_size(1024);
    }
    let (layer, io) = builder.build_layer();
    let rooms = Rooms::default();
    let push = args.push;
    // Handlers go in a connect middleware, which runs before the CONNECT ack (as
    // in presence-server), so no `viewing` can arrive before they exist.
    let register = move |socket: SocketRef| {
        register(&socket, rooms.clone(), push);
        async move { Ok::<(), std::convert::Infallible>(()) }
    };
    io.ns("/", connected.with(register));
    let mut app = axum::Router::new().layer(layer);
    if args.detach {
        app = app.layer(axum::middleware::map_request(
            presence_server::http::detach_socket_request,
        ));
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!("bare socketioxide listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn connected(_socket: SocketRef) {}

fn register(socket: &SocketRef, rooms: Rooms, push: bool) {
    let current: Arc<Mutex<Option<String>>> = Arc::default();
    let (on_view, on_leave) = (rooms.clone(), rooms.clone());
    let (view_current, leave_current) = (current.clone(), current);
    socket.on(
        "viewing",
        move |socket: SocketRef, Data(value): Data<Value>| {
            let post = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let previous = view_current
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .replace(post.clone());
            let mut left = None;
            if let Some(old) = previous.filter(|old| *old != post) {
                socket.leave(format!("post:{old}"));
                left = Some((old.clone(), on_view.add(&old, -1)));
            }
            socket.join(format!("post:{post}"));
            let size = on_view.add(&post, 1);
            async move {
                let _ = socket.emit("viewers", &(post.as_str(), size));
                let _ = socket.emit("views", &(post.as_str(), 0));
                if push {
                    let _ = socket
                        .broadcast()
                        .to(format!("post:{post}"))
                        .emit("viewers", &(post.as_str(), size))
                        .await;
                    if let Some((old, size)) = left {
                        let _ = socket
                            .to(format!("post:{old}"))
                            .emit("viewers", &(old.as_str(), size))
                            .await;
                    }
                }
            }
        },
    );
    socket.on_disconnect(move |socket: SocketRef| {
        let post = leave_current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let size = post.as_ref().map(|post| on_leave.add(post, -1));
        async move {
            if let (true, Some(post), Some(size)) = (push, post, size) {
                let _ = socket
                    .to(format!("post:{post}"))
                    .emit("viewers", &(post.as_str(), size))
                    .await;
            }
        }
    });
}
