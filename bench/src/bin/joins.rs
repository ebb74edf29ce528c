//! How many joins a second does the store take, and what does each cost Redis?
//!
//! Starts a private `redis-server`, then `--sessions` sessions (in `--tasks`
//! concurrent tasks) move from post to post (Zipf over `--posts`) through
//! `RedisStore::view` for `--secs`: each move is one leave and one join, one script
//! call. Prints moves per second and, from Redis's own `INFO commandstats`, the
//! microseconds Redis spent per script call, which is what the site-wide index
//! adds to. `bench/scripts/index-cost.sh` runs it against the store with and
//! without the index. With `--cluster N` it runs on a private N-master Redis
//! Cluster instead (`bench/scripts/cluster-joins.sh`); Redis's µs per script are
//! then summed over the masters.
//!
//! cargo run --release -p presence-bench --bin joins -- --secs 10 [--cluster 3]

// A test's (or a load generator's) unwrap is its assertion.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use presence_bench::zipf::Zipf;
use presence_core::config::{RedisConfig, RedisMode};
use presence_core::{Keys, PostId, RedisStore, SessionId, Store};
use presence_tests::RedisServer;
use presence_tests::redis_cluster::RedisCluster;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    #[arg(long, default_value_t = 1_000)]
    posts: usize,
    #[arg(long, default_value_t = 64)]
    tasks: usize,
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// redis.pool_size (batches only: views share one multiplexed connection)
    #[arg(long, default_value_t = 4)]
    pool: usize,
    /// Run on a Redis Cluster of this many masters instead of one Redis.
    #[arg(long)]
    cluster: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Kept alive (and killed on drop) for the whole run.
    let (_single, _cluster, config) = match args.cluster {
        None => {
            let redis = RedisServer::start();
            let config = RedisConfig {
                url: redis.url(),
                pool_size: args.pool,
                ..RedisConfig::default()
            };
            (Some(redis), None, config)
        }
        Some(masters) => {
            let cluster = RedisCluster::start(masters, 0);
            let config = RedisConfig {
                url: cluster.url(),
                mode: RedisMode::Cluster,
                ..RedisConfig::default()
            };
            (None, Some(cluster), config)
        }
    };
    let store = RedisStore::connect(&config, Keys::for_redis(&config), Duration::from_secs(3600))?;
    let posts: Arc<Vec<PostId>> = Arc::new(
        (1..=args.posts)
            .map(|n| PostId::parse(&n.to_string()))
            .collect::<Result<_, _>>()?,
    );
    let zipf = Arc::new(Zipf::new(args.posts, 1.0)?);
    let moves = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.secs);
    let per_task = args.sessions.div_ceil(args.tasks);

    // Everyone joins once first, so the measured part is all moves.
    let mut tasks = Vec::new();
    for task in 0..args.tasks {
        let (store, posts, zipf, moves) =
            (store.clone(), posts.clone(), zipf.clone(), moves.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(task as u64);
            let sessions: Vec<SessionId> = (0..per_task)
                .map(|i| SessionId::parse(&format!("t{task}s{i}")))
                .collect::<Result<_, _>>()?;
            let mut reading: Vec<Option<PostId>> = vec![None; per_task];
            let mut i = 0;
            while Instant::now() < deadline {
                let post = &posts[zipf.sample(&mut rng)];
                let slot = i % per_task;
                store
                    .view(&sessions[slot], post, reading[slot].as_ref(), false)
                    .await?;
                reading[slot] = Some(post.clone());
                moves.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let moves = moves.load(Ordering::Relaxed);
    // Redis's own time per script call, summed over the nodes (one on a single
    // Redis), weighted by their calls.
    let (mut calls, mut usec) = (0.0, 0.0);
    for url in config.urls() {
        let mut node = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut node)
            .await?;
        if let Some((node_calls, node_usec)) = script_stats(&stats) {
            calls += node_calls;
            usec += node_usec;
        }
    }
    let script_usec = if calls > 0.0 { usec / calls } else { f64::NAN };
    println!(
        "RESULT {{\"moves_per_sec\":{:.0},\"moves\":{moves},\"secs\":{elapsed:.2},\"redis_usec_per_script\":{script_usec:.2},\"sessions\":{},\"posts\":{},\"tasks\":{},\"cluster_masters\":{}}}",
        moves as f64 / elapsed,
        args.sessions,
        args.posts,
        args.tasks,
        args.cluster.unwrap_or(0)
    );
    Ok(())
}

/// (calls, usec) of EVALSHA in `INFO commandstats`.
fn script_stats(stats: &str) -> Option<(f64, f64)> {
    let line = stats
        .lines()
        .find(|line| line.starts_with("cmdstat_evalsha:"))?;
    let field = |name: &str| -> Option<f64> {
        line.split([':', ','])
            .find_map(|field| field.strip_prefix(name))?
            .parse()
            .ok()
    };
    Some((field("calls=")?, field("usec=")?))
}
