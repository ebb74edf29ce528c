//! One lightweight Socket.IO reader: a bare websocket speaking just enough Engine.IO
//! v4 (answer pings) and Socket.IO v5 (CONNECT, emit `viewing`, read `viewers` and
//! `views`). Tens of thousands run in one process, so each is a single task with
//! small buffers and no per-message allocation beyond the frame itself.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::eio::{self, Frame};
use crate::tracker::{NO_POST, Tracker};

type Ws = WebSocketStream<TcpStream>;

/// What the driver asks a client to do.
#[derive(Debug, Clone, Copy)]
pub enum Command {
    /// Emit `viewing` for another post on the same connection (a leave + a join).
    Switch(usize),
    /// Close the connection, open a new one and view this post (a leave + a join).
    Reconnect(usize),
    /// Close and stay away.
    Stop,
}

/// Settings every client of a process shares.
pub struct Shared {
    pub tracker: Arc<Tracker>,
    pub post_names: Vec<String>,
    /// Limits handshakes in flight, so a storm does not overflow accept backlogs.
    pub handshakes: Semaphore,
    /// Reconnect with backoff and jitter when the server goes away (reconnect storm).
    pub reconnect: bool,
    pub deadline: Instant,
}

pub struct Client {
    pub id: usize,
    pub server: SocketAddr,
    pub source: Ipv4Addr,
}

/// Per-connection view state used for latency bookkeeping.
struct Viewing {
    post: usize,
    /// Waiting for our own `viewers`/`views` answer since this instant.
    asked_at: Option<Instant>,
    shown: u64,
    /// Index of the newest post-log entry this reader's display reflects.
    seen: usize,
    /// When the reader was answered for `post`: it cannot have been stale on this
    /// post before. An answer whose count fits only an old log entry (it raced
    /// changes) would otherwise date the staleness back to that entry.
    answered_at: Instant,
}

impl Client {
    pub async fn run(
        self,
        shared: Arc<Shared>,
        post: usize,
        mut commands: mpsc::Receiver<Command>,
    ) {
        let tracker = shared.tracker.clone();
        let mut post = post;
        // Whether the tracker counts us as a reader of `post` (a logical reader stays
        // counted while it reconnects after losing its server).
        let mut counted = false;
        let mut attempt = 0u32;
        loop {
            if Instant::now() >= shared.deadline {
                break;
            }
            let ws = match self.connect(&shared).await {
                Ok(ws) => ws,
                Err(_) => {
                    tracker.connect_errors.fetch_add(1, Ordering::Relaxed);
                    if !shared.reconnect {
                        break;
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
            };
            attempt = 0;
            tracker.connects.fetch_add(1, Ordering::Relaxed);
            tracker.open.fetch_add(1, Ordering::Relaxed);
            let ended = self
                .serve(&shared, ws, &mut post, &mut counted, &mut commands)
                .await;
            tracker.open.fetch_sub(1, Ordering::Relaxed);
            tracker.client_ready[self.id].store(false, Ordering::Relaxed);
            match ended {
                Ended::Reconnect => continue,
                Ended::Stop => break,
                Ended::Lost => {
                    tracker.disconnects.fetch_add(1, Ordering::Relaxed);
                    if !shared.reconnect {
                        break;
                    }
                    tokio::time::sleep(backoff(0)).await;
                }
            }
        }
        if counted {
            tracker.post(post).change(false);
        }
        tracker.client_post[self.id].store(NO_POST, Ordering::Relaxed);
        tracker.client_ready[self.id].store(false, Ordering::Relaxed);
    }

    async fn connect(&self, shared: &Shared) -> anyhow::Result<Ws> {
        let _permit = shared.handshakes.acquire().await?;
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(self.source.into(), 0))?;
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.server);
        // Our frames are tiny; small buffers keep 20k clients cheap.
        let config = WebSocketConfig::default().read_buffer_size(1024);
        let handshake = async {
            let stream = socket.connect(self.server).await?;
            stream.set_nodelay(true)?;
            let (mut ws, _) =
                tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
            // Engine.IO open, then our namespace CONNECT, then wait for its ack:
            // socketioxide drops events sent before the ack.
            expect(&mut ws, |f| matches!(f, Frame::Open)).await?;
            ws.send(Message::Text(eio::CONNECT.into())).await?;
            let ack = expect(&mut ws, |f| matches!(f, Frame::ConnectAck)).await?;
            anyhow::Ok((ws, eio::ack_sid(&ack).map(Box::from)))
        };
        let (ws, sid) = tokio::time::timeout(Duration::from_secs(15), handshake)
            .await
            .context("handshake timed out")??;
        // Kept to name a reader the server never answered (see `loadgen`).
        shared.tracker.set_client_sid(self.id, sid);
        Ok(ws)
    }

    /// Views `post` on an open connection and serves it until it ends.
    async fn serve(
        &self,
        shared: &Shared,
        mut ws: Ws,
        post: &mut usize,
        counted: &mut bool,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Ended {
        let tracker = &shared.tracker;
        let mut view = Viewing {
            post: *post,
            asked_at: None,
            shown: u64::MAX,
            seen: 0,
            answered_at: Instant::now(),
        };
        if !*counted {
            tracker.post(*post).change(true);
            *counted = true;
        }
        if self.ask(shared, &mut ws, &mut view).await.is_err() {
            return Ended::Lost;
        }
        let deadline = tokio::time::Instant::from_std(shared.deadline);
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let message = match frame {
                        Some(Ok(message)) => message,
                        Some(Err(error)) => return lost(shared, &error.to_string()),
                        None => return lost(shared, "closed by the server"),
                    };
                    let Message::Text(text) = message else { continue };
                    match eio::parse(text.as_str()) {
                        Frame::Ping if ws.send(Message::Text(eio::PONG.into())).await.is_err() => {
                            return Ended::Lost;
                        }
                        Frame::Viewers(name, count) => self.on_viewers(shared, &mut view, name, count),
                        Frame::Views(name, _) => self.on_views(shared, &mut view, name),
                        _ => {}
                    }
                }
                command = commands.recv() => {
                    let command = command.unwrap_or(Command::Stop);
                    match command {
                        Command::Switch(next) if next != view.post => {
                            tracker.post(view.post).change(false);
                            tracker.post(next).change(true);
                            view.post = next;
                            *post = next;
                            if self.ask(shared, &mut ws, &mut view).await.is_err() {
                                return Ended::Lost;
                            }
                        }
                        Command::Switch(_) => {}
                        Command::Reconnect(next) => {
                            tracker.post(view.post).change(false);
                            *counted = false;
                            *post = next;
                            tracker.client_post[self.id].store(NO_POST, Ordering::Relaxed);
                            let _ = ws.close(None).await;
                            return Ended::Reconnect;
                        }
                        Command::Stop => {
                            let _ = ws.close(None).await;
                            return Ended::Stop;
                        }
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    let _ = ws.close(None).await;
                    return Ended::Stop;
                }
            }
        }
    }

    /// Emits `viewing` for `view.post` and starts waiting for the answer.
    async fn ask(&self, shared: &Shared, ws: &mut Ws, view: &mut Viewing) -> anyhow::Result<()> {
        let tracker = &shared.tracker;
        tracker.client_ready[self.id].store(false, Ordering::Relaxed);
        tracker.client_post[self.id].store(view.post as u32, Ordering::Relaxed);
        view.asked_at = Some(Instant::now());
        tracker.viewing_sent.fetch_add(1, Ordering::Relaxed);
        ws.send(Message::Text(
            eio::viewing(&shared.post_names[view.post]).into(),
        ))
        .await?;
        Ok(())
    }

    fn on_viewers(&self, shared: &Shared, view: &mut Viewing, name: &str, count: u64) {
        let tracker = &shared.tracker;
        tracker.viewers_msgs.fetch_add(1, Ordering::Relaxed);
        if name == shared.post_names[0] {
            tracker.post0_msgs.fetch_add(1, Ordering::Relaxed);
            // While a reader waits for its own answer, a `viewers` for its post is
            // (or races with) that answer; everything else is a room push.
            let answering = view.asked_at.is_some() && name == shared.post_names[view.post];
            if !answering {
                tracker.post0_pushes.fetch_add(1, Ordering::Relaxed);
            }
        }
        if name != shared.post_names[view.post] {
            return; // a push for the post we just left
        }
        if view.asked_at.is_none() {
            match tracker
                .post(view.post)
                .observe(view.seen, view.shown, count)
            {
                Some((seen, stale_since)) => {
                    if let Some(since) = stale_since {
                        let since = since.max(view.answered_at);
                        tracker.record_update(
                            self.id,
                            view.post,
                            since.elapsed(),
                            view.shown,
                            count,
                        );
                    }
                    view.seen = seen;
                    view.shown = count;
                }
                None => {
                    // The count fits no logged state: a read that raced changes the
                    // server applied in another order than they were sent. Timing
                    // goes on from the last count that did fit, or a later push
                    // would be timed from a change long gone.
                    tracker.unmatched.fetch_add(1, Ordering::Relaxed);
                }
            }
        } else {
            view.shown = count;
        }
        tracker.client_shown[self.id].store(count, Ordering::Relaxed);
    }

    /// `views` closes our own answer (it follows our `viewers` answer directly).
    fn on_views(&self, shared: &Shared, view: &mut Viewing, name: &str) {
        if name != shared.post_names[view.post] {
            return;
        }
        let Some(asked_at) = view.asked_at.take() else {
            return;
        };
        let tracker = &shared.tracker;
        tracker.answers.fetch_add(1, Ordering::Relaxed);
        tracker.record(&tracker.answer, asked_at.elapsed());
        view.answered_at = Instant::now();
        view.seen = tracker.post(view.post).last_matching(view.shown);
        tracker.client_ready[self.id].store(true, Ordering::Relaxed);
    }
}

/// Notes why a connection was lost; the first few reasons are printed.
fn lost(shared: &Shared, why: &str) -> Ended {
    let earlier = shared.tracker.lost_logged.fetch_add(1, Ordering::Relaxed);
    if earlier < 3 {
        eprintln!("connection lost: {why}");
    }
    Ended::Lost
}

enum Ended {
    Reconnect,
    Stop,
    Lost,
}

/// Reads frames until one is `wanted`, and returns its text. Pings are answered on
/// the way: engineioxide sends its first ping right after the Engine.IO open,
/// before the namespace ack, and closes the connection if that ping goes
/// unanswered for `ping_timeout`.
async fn expect(ws: &mut Ws, wanted: impl Fn(&Frame<'_>) -> bool) -> anyhow::Result<String> {
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let frame = eio::parse(text.as_str());
        if wanted(&frame) {
            return Ok(text.as_str().to_owned());
        }
        if frame == Frame::Ping {
            ws.send(Message::Text(eio::PONG.into())).await?;
        }
    }
    bail!("connection closed during handshake")
}

/// socket.io-client's reconnection delay: 1 s doubling up to 5 s, ±50 % jitter.
fn backoff(attempt: u32) -> Duration {
    let base = (1000u64 << attempt.min(3)).min(5000) as f64;
    let jitter = rand::rng().random_range(0.5..1.5);
    Duration::from_millis((base * jitter) as u64)
}
