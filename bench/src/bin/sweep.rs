//! How long does gc's reconciling sweep take over many sessions?
//!
//! Starts a private `redis-server` on a free loopback port, seeds `--sessions`
//! sessions spread over `--posts` posts exactly as the server's scripts lay them out
//! (hash entry + set member, and a live session key for the alive case), then times
//! `Reaper::sweep` over them, `--runs` times per case, and prints the median.
//!
//! cargo run --release -p presence-bench --bin sweep -- --sessions 100000 --runs 5

// A test's (or a load generator's) unwrap is its assertion.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use presence_core::config::RedisConfig;
use presence_core::reaper::Reaper;
use presence_core::{Keys, PostId, RedisStore, SessionId};
use presence_tests::RedisServer;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    sessions: usize,
    #[arg(long, default_value_t = 1_000)]
    posts: usize,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// gc.batch_size
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let redis = RedisServer::start();
    let mut conn = redis.connection().await;
    let store = RedisStore::connect(
        &RedisConfig {
            url: redis.url(),
            ..RedisConfig::default()
        },
        Keys::default(),
        Duration::from_secs(3600),
    )?;
    let reaper = Reaper::new(store, args.batch);

    println!(
        "sessions={} posts={} batch={} runs={}",
        args.sessions, args.posts, args.runs, args.batch
    );
    for (case, alive) in [
        ("all alive (nothing to remove)", true),
        ("all stale (every entry removed)", false),
    ] {
        let mut timings = Vec::new();
        for _ in 0..args.runs {
            seed(&mut conn, &args, alive).await?;
            let report = reaper.sweep().await?;
            let expected_removed = if alive { 0 } else { args.sessions as u64 };
            if report.removed != expected_removed {
                bail!(
                    "{case}: removed {} instead of {expected_removed}",
                    report.removed
                );
            }
            timings.push(report.duration);
        }
        timings.sort();
        let median = timings[timings.len() / 2];
        let per_session = median.as_secs_f64() * 1e6 / args.sessions as f64;
        println!(
            "{case}: median {:.0} ms ({per_session:.2} µs per session), runs {:?}",
            median.as_secs_f64() * 1e3,
            timings.iter().map(|t| t.as_millis()).collect::<Vec<_>>()
        );
    }
    Ok(())
}

/// Lays out sessions as the `view` script does, in pipelines of 1,000.
async fn seed(
    conn: &mut redis::aio::MultiplexedConnection,
    args: &Args,
    alive: bool,
) -> anyhow::Result<()> {
    let keys = Keys::default();
    let () = redis::cmd("FLUSHDB").query_async(conn).await?;
    for chunk_start in (0..args.sessions).step_by(1000) {
        let mut pipe = redis::pipe();
        for i in chunk_start..(chunk_start + 1000).min(args.sessions) {
            let session = SessionId::parse(&format!("s{i}"))?;
            let post = PostId::parse(&format!("{}", i % args.posts + 1))?;
            let shard = keys.shard_of(&post);
            pipe.cmd("HSET")
                .arg(keys.sessions_hash(shard))
                .arg(session.as_str())
                .arg(post.as_str())
                .ignore();
            pipe.cmd("SADD")
                .arg(keys.readers(&post))
                .arg(session.as_str())
                .ignore();
            if alive {
                pipe.cmd("SET")
                    .arg(keys.session(&session, shard))
                    .arg(post.as_str())
                    .arg("EX")
                    .arg(3600)
                    .ignore();
            }
        }
        let () = pipe.query_async(conn).await?;
    }
    Ok(())
}
