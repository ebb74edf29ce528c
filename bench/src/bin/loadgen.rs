//! Load generator for presence-server and its baselines.
//!
//! Opens `--readers` Socket.IO websocket clients from several loopback source
//! addresses, spreads them over `--posts` posts with a Zipf law, churns them at
//! `--rate` moves per second (each move is one leave plus one join), and reports
//! latencies, message counts and the servers' RSS and CPU (from /proc). One process
//! holds at most ≈ 19,500 sockets here (open-file limit 20,000): run several for
//! more. Everything is loopback-only and bounded by `--max-secs`.
//!
//! The last line of output is `RESULT {json}` for scripts (see bench/scripts/).

// A test's (or a load generator's) unwrap is its assertion.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use presence_bench::client::{Client, Command, Shared};
use presence_bench::hist::Hist;
use presence_bench::procstat::{self, CpuWindow};
use presence_bench::tracker::{NO_POST, Tracker};
use presence_bench::zipf::Zipf;
use rand::Rng;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

#[derive(Parser)]
#[command(about = "Socket.IO load generator for presence (loopback only)")]
struct Args {
    /// Server address(es); clients are spread over them round-robin. Loopback only.
    #[arg(long, required = true)]
    server: Vec<SocketAddr>,
    /// Server process id(s) whose RSS and CPU are reported.
    #[arg(long)]
    server_pid: Vec<u32>,
    #[arg(long, default_value_t = 1000)]
    readers: usize,
    #[arg(long, default_value_t = 1000)]
    posts: usize,
    /// Zipf exponent of the post popularity (0 = uniform).
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Hot-post run: this many readers sit on post 0 and never move; the other
    /// readers toggle between post 0 and their own post, so every move is one
    /// join or one leave on the hot post.
    #[arg(long, default_value_t = 0)]
    hot: usize,
    /// Moves per second during the measurement window (0: just hold).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Share of moves done by reconnecting (close + new socket) instead of
    /// emitting `viewing` for another post on the same socket.
    #[arg(long, default_value_t = 0.5)]
    reconnect_share: f64,
    /// New connections per second while filling up.
    #[arg(long, default_value_t = 2000.0)]
    connect_rate: f64,
    /// Loopback source addresses 127.0.0.(2+offset) … (2+offset+sources-1).
    #[arg(long, default_value_t = 8)]
    sources: u8,
    #[arg(long, default_value_t = 0)]
    source_offset: u8,
    /// Seconds to wait after every reader got its answer, before measuring.
    #[arg(long, default_value_t = 5)]
    settle: u64,
    /// Length of the measurement (churn) window in seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// After churn stops, how long to wait for every displayed count to be exact.
    #[arg(long, default_value_t = 10)]
    exact_wait: u64,
    /// Reconnect storm: after the window, wait for the server to go away and come
    /// back, reconnect with backoff and jitter, and time until counts are exact.
    #[arg(long)]
    storm: bool,
    #[arg(long, default_value_t = 120)]
    storm_wait: u64,
    /// First post id (posts are named base, base+1, …).
    #[arg(long, default_value_t = 1)]
    post_base: u64,
    /// Hard limit on the whole run.
    #[arg(long, default_value_t = 600)]
    max_secs: u64,
    #[arg(long, default_value = "")]
    label: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    for server in &args.server {
        if !server.ip().is_loopback() {
            bail!("{server} is not a loopback address: load goes to 127.0.0.0/8 only");
        }
    }
    if args.hot > args.readers {
        bail!("--hot must not exceed --readers");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_secs);
    let tracker = Arc::new(Tracker::new(args.posts, args.readers));
    let shared = Arc::new(Shared {
        tracker: tracker.clone(),
        post_names: (0..args.posts as u64)
            .map(|i| (args.post_base + i).to_string())
            .collect(),
        handshakes: Semaphore::new(256),
        reconnect: args.storm,
        deadline,
    });
    let rss = |pids: &[u32]| {
        pids.iter()
            .filter_map(|&p| procstat::rss_kib(p))
            .sum::<u64>()
    };
    let rss_idle = rss(&args.server_pid);

    // Fill up at --connect-rate.
    let zipf = Zipf::new(args.posts, args.zipf).context("--zipf")?;
    let cold = Zipf::new(args.posts.saturating_sub(1).max(1), args.zipf).context("--zipf")?;
    let mut rng = rand::rng();
    let mut commands = Vec::with_capacity(args.readers);
    let mut home = Vec::with_capacity(args.readers);
    let fill = Instant::now();
    for id in 0..args.readers {
        let post = if args.hot == 0 {
            zipf.sample(&mut rng)
        } else if id < args.hot {
            0
        } else {
            1 + cold.sample(&mut rng).min(args.posts - 2)
        };
        home.push(post);
        let (tx, rx) = mpsc::channel(4);
        commands.push(tx);
        let client = Client {
            id,
            server: args.server[id % args.server.len()],
            source: Ipv4Addr::new(
                127,
                0,
                0,
                2 + ((args.source_offset as usize + id) % args.sources as usize) as u8,
            ),
        };
        tokio::spawn(client.run(shared.clone(), post, rx));
        let due = fill + Duration::from_secs_f64((id + 1) as f64 / args.connect_rate);
        tokio::time::sleep_until(due.into()).await;
    }
    let all_ready = wait_until(Duration::from_secs(120), || {
        tracker.ready_clients() == args.readers
    })
    .await;
    let ready = tracker.ready_clients();
    eprintln!(
        "{}: {ready}/{} readers answered after {:.1} s (connect errors {})",
        args.label,
        args.readers,
        fill.elapsed().as_secs_f64(),
        tracker.connect_errors.load(Ordering::Relaxed)
    );
    if !all_ready {
        eprintln!("not every reader got an answer; measuring the ones that did");
        for straggler in tracker.stragglers(5) {
            eprintln!("  {straggler}");
        }
    }
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let rss_loaded = rss(&args.server_pid);
    let open = tracker.open.load(Ordering::Relaxed);

    // Measurement window: churn at --rate.
    let cpu = CpuWindow::start(&args.server_pid);
    let own_cpu = CpuWindow::start(&[std::process::id()]);
    let msgs_before = tracker.viewers_msgs.load(Ordering::Relaxed);
    let post0_before = tracker.post0_msgs.load(Ordering::Relaxed);
    let post0_pushes_before = tracker.post0_pushes.load(Ordering::Relaxed);
    tracker.measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    let window_len = Duration::from_secs(args.duration);
    let mut moves = 0u64;
    let mut skipped = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    // The hot room's size, sampled every tick: the bound on its pushes is
    // readers × (1 / interval) for the readers it had, which churn moves.
    let (mut hot_sum, mut hot_samples) = (0u64, 0u64);
    while window.elapsed() < window_len && Instant::now() < deadline {
        tick.tick().await;
        if args.hot > 0 {
            hot_sum += tracker.post(0).count();
            hot_samples += 1;
        }
        let due = (window.elapsed().as_secs_f64() * args.rate) as u64;
        while moves < due {
            moves += 1;
            let id = if args.hot > 0 {
                rng.random_range(args.hot..args.readers)
            } else {
                rng.random_range(0..args.readers)
            };
            let now_on = tracker.client_post[id].load(Ordering::Relaxed);
            if now_on == NO_POST || !tracker.client_ready[id].load(Ordering::Relaxed) {
                skipped += 1;
                continue;
            }
            let next = if args.hot > 0 {
                if now_on == 0 { home[id] } else { 0 }
            } else {
                let mut next = zipf.sample(&mut rng);
                for _ in 0..8 {
                    if next != now_on as usize {
                        break;
                    }
                    next = zipf.sample(&mut rng);
                }
                next
            };
            let command = if rng.random_bool(args.reconnect_share.clamp(0.0, 1.0)) {
                Command::Reconnect(next)
            } else {
                Command::Switch(next)
            };
            if commands[id].try_send(command).is_err() {
                skipped += 1;
            }
        }
    }
    let secs = window.elapsed().as_secs_f64();
    let server_cores = cpu.cores();
    let loadgen_cores = own_cpu.cores();
    let msgs = tracker.viewers_msgs.load(Ordering::Relaxed) - msgs_before;
    let post0 = tracker.post0_msgs.load(Ordering::Relaxed) - post0_before;
    let post0_pushes = tracker.post0_pushes.load(Ordering::Relaxed) - post0_pushes_before;
    let churn_stopped = Instant::now();
    // Let the last moves' answers arrive before the latency books close.
    let exact = wait_until(Duration::from_secs(args.exact_wait), || {
        tracker.ready_clients() == args.readers && tracker.wrong_counts() == 0
    })
    .await;
    let exact_ms = exact.then(|| churn_stopped.elapsed().as_millis() as u64);
    if !exact {
        eprintln!("not every reader exact {} s after churn:", args.exact_wait);
        for straggler in tracker.stragglers(5) {
            eprintln!("  {straggler}");
        }
    }
    tracker.measuring.store(false, Ordering::Relaxed);
    let hot_readers = if args.hot > 0 {
        tracker.post(0).count()
    } else {
        0
    };

    let storm = if args.storm {
        Some(storm(&args, &tracker).await)
    } else {
        None
    };

    let slowest = tracker.slowest_update.lock().clone();
    if let Some(slow) = slowest {
        let sid = tracker.client_sid(slow.client);
        eprintln!(
            "slowest update: {:.0} ms, client {} on post index {} (showed {}, pushed {}), socket id {sid:?}",
            slow.latency.as_secs_f64() * 1000.0,
            slow.client,
            slow.post,
            slow.shown,
            slow.count
        );
    }
    let answer = tracker.answer.lock().clone();
    let update = tracker.update.lock().clone();
    let per_conn = if open > 0 {
        (rss_loaded.saturating_sub(rss_idle)) as f64 / open as f64
    } else {
        0.0
    };
    let result = json!({
        "label": args.label,
        "readers": args.readers,
        "ready": ready,
        "open_at_rss": open,
        "posts": args.posts,
        "rate_moves_per_s": args.rate,
        "moves": moves,
        "moves_skipped": skipped,
        "window_s": secs,
        "rss_idle_kib": rss_idle,
        "rss_loaded_kib": rss_loaded,
        "rss_per_conn_kib": per_conn,
        "server_cpu_cores": server_cores,
        "loadgen_cpu_cores": loadgen_cores,
        "loadgen_rss_kib": procstat::rss_kib(std::process::id()),
        "answer": summary(&answer),
        "update": summary(&update),
        "viewers_msgs_per_s": msgs as f64 / secs,
        "post0_msgs_per_s": post0 as f64 / secs,
        "post0_pushes_per_s": post0_pushes as f64 / secs,
        "hot_readers_at_end": hot_readers,
        "hot_readers_avg": hot_sum as f64 / hot_samples.max(1) as f64,
        "unmatched_pushes": tracker.unmatched.load(Ordering::Relaxed),
        "exact_after_churn_ms": exact_ms,
        "wrong_counts_at_end": tracker.wrong_counts(),
        "connect_errors": tracker.connect_errors.load(Ordering::Relaxed),
        "disconnects": tracker.disconnects.load(Ordering::Relaxed),
        "storm": storm,
    });
    eprintln!("{}", serde_json::to_string_pretty(&result)?);
    println!("RESULT {result}");
    Ok(())
}

/// Waits for the server to drop every client and for the clients to come back:
/// reports how long until every reader was answered again with an exact count,
/// and how many `viewing` events went unanswered.
async fn storm(args: &Args, tracker: &Tracker) -> serde_json::Value {
    let before = tracker.disconnects.load(Ordering::Relaxed);
    let sent_before = tracker.viewing_sent.load(Ordering::Relaxed);
    let answers_before = tracker.answers.load(Ordering::Relaxed);
    eprintln!("{}: STORM-READY (restart the server now)", args.label);
    let wait = Duration::from_secs(args.storm_wait);
    if !wait_until(wait, || {
        tracker.disconnects.load(Ordering::Relaxed) > before
    })
    .await
    {
        return json!({ "error": "the server never went away" });
    }
    let first_drop = Instant::now();
    let exact = wait_until(wait, || {
        tracker.ready_clients() == args.readers && tracker.wrong_counts() == 0
    })
    .await;
    let exact_ms = exact.then(|| first_drop.elapsed().as_millis() as u64);
    // Give stragglers a moment, then count `viewing` events without an answer.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = tracker.viewing_sent.load(Ordering::Relaxed) - sent_before;
    let answered = tracker.answers.load(Ordering::Relaxed) - answers_before;
    json!({
        "disconnects": tracker.disconnects.load(Ordering::Relaxed) - before,
        "exact_after_ms": exact_ms,
        "viewing_sent": sent,
        "viewing_answered": answered,
        "viewing_lost": sent.saturating_sub(answered),
        "ready": tracker.ready_clients(),
        "unanswered_readers": args.readers - tracker.ready_clients(),
        "wrong_counts": tracker.wrong_counts(),
    })
}

fn summary(hist: &Hist) -> serde_json::Value {
    json!({
        "n": hist.len(),
        "p50_ms": hist.quantile_ms(0.5),
        "p99_ms": hist.quantile_ms(0.99),
        "max_ms": hist.max_ms(),
    })
}

/// Polls `done` every 50 ms for at most `limit`; true when it became true.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}
