//! A polling-handshake flood from one address: what one client costs a server
//! that lets it open Engine.IO sessions as fast as it can ask.
//!
//! `--connections` keep-alive connections from one loopback address each send
//! `GET /socket.io/?EIO=4&transport=polling` (a handshake that never joins the
//! namespace) back to back for `--duration` seconds, or until `--max` handshakes.
//! The server's RSS is sampled every 250 ms and its CPU measured over the flood;
//! a `RESULT {json}` line reports handshakes sent, answered 200 and 429, the
//! server's RSS before, at its peak and at the end, and its cores.
//!
//! cargo run --release -p presence-bench --bin flood -- --server 127.0.0.1:3300 --server-pid PID

// A load generator's unwrap is its assertion.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use presence_bench::procstat::{self, CpuWindow};

#[derive(Parser)]
struct Args {
    /// host:port of the server.
    #[arg(long)]
    server: String,
    /// The server's pid, for RSS and CPU.
    #[arg(long)]
    server_pid: u32,
    /// Keep-alive connections the flood is sent over.
    #[arg(long, default_value_t = 5)]
    connections: usize,
    /// Seconds of flooding.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Most handshakes in all.
    #[arg(long, default_value_t = 1_000_000)]
    max: u64,
    /// The one loopback address the flood comes from.
    #[arg(long, default_value = "127.0.0.2")]
    source: IpAddr,
    #[arg(long, default_value = "flood")]
    label: String,
}

#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = format!("http://{}/socket.io/?EIO=4&transport=polling", args.server);
    let rss_before = procstat::rss_kib(args.server_pid).unwrap_or(0);
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let cpu = CpuWindow::start(&[args.server_pid]);
    let started = Instant::now();
    let flooders: Vec<_> = (0..args.connections)
        .map(|_| {
            // One client per connection, so each keeps its own keep-alive socket.
            let client = reqwest::Client::builder()
                .local_address(args.source)
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let (url, counts, max) = (url.clone(), counts.clone(), args.max);
            tokio::spawn(async move {
                while Instant::now() < deadline && counts.sent.fetch_add(1, Ordering::Relaxed) < max
                {
                    let counter = match client.get(&url).send().await {
                        Ok(response) if response.status() == 200 => &counts.accepted,
                        Ok(response) if response.status() == 429 => &counts.refused,
                        _ => &counts.failed,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut rss_peak = rss_before;
    while flooders.iter().any(|task| !task.is_finished()) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rss_peak = rss_peak.max(procstat::rss_kib(args.server_pid).unwrap_or(0));
    }
    let seconds = started.elapsed().as_secs_f64();
    let cores = cpu.cores();
    let rss_end = procstat::rss_kib(args.server_pid).unwrap_or(0);
    let answered = |count: &AtomicU64| count.load(Ordering::Relaxed);
    let handshakes =
        answered(&counts.accepted) + answered(&counts.refused) + answered(&counts.failed);
    let result = serde_json::json!({
        "label": args.label,
        "connections": args.connections,
        "seconds": (seconds * 10.0).round() / 10.0,
        "handshakes": handshakes,
        "handshakes_per_s": (handshakes as f64 / seconds).round(),
        "accepted": answered(&counts.accepted),
        "refused": answered(&counts.refused),
        "failed": answered(&counts.failed),
        "rss_before_mib": rss_before as f64 / 1024.0,
        "rss_peak_mib": rss_peak as f64 / 1024.0,
        "rss_end_mib": rss_end as f64 / 1024.0,
        "server_cores": (cores * 100.0).round() / 100.0,
    });
    println!("RESULT {result}");
    Ok(())
}
