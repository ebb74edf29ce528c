//! presence-gc against a real Redis, with the real binaries: expiry events,
//! the reconciling sweep, crashed servers, and Redis that will not be configured.

use std::time::Duration;

use presence_core::config::RedisConfig;
use presence_core::{Keys, PostId, RedisStore, SessionId, Store};
use presence_tests::{GcProcess, Reader, RedisServer, ServerProcess, eventually};
use redis::AsyncCommands;

/// Long enough that a test can tell an event-driven reap from a sweep.
const NO_SWEEP: &str = "3600";
const GC_WAIT: Duration = Duration::from_secs(15);

/// Records a session directly in Redis through the core's own script, as a server
/// would, but with nobody keeping it alive: a reader of a crashed server.
async fn seed_ghost(redis: &RedisServer, session: &str, post: &str, ttl: Duration) {
    let config = RedisConfig {
        url: redis.url(),
        ..RedisConfig::default()
    };
    let store = RedisStore::connect(&config, Keys::default(), ttl).unwrap();
    let session = SessionId::parse(session).unwrap();
    let post = PostId::parse(post).unwrap();
    store.view(&session, &post, None, false).await.unwrap();
}

/// Waits until gc's metric `name` satisfies `ok`: metrics are updated just after
/// the work they count, so a test that saw the work may read them a moment early.
async fn wait_for_metric(gc: &GcProcess, name: &str, ok: impl Fn(f64) -> bool) {
    let what = format!("{name} to reach the expected value");
    eventually(&what, GC_WAIT, async || {
        gc.metric(name).await.filter(|v| ok(*v))
    })
    .await;
}

async fn hash_len(redis: &RedisServer) -> usize {
    redis.connection().await.hlen("viewers").await.unwrap()
}

/// The score of `post` in the site-wide index, `None` when it is not listed.
async fn index_score(redis: &RedisServer, post: &str) -> Option<u64> {
    redis
        .connection()
        .await
        .zscore("presence:top", post)
        .await
        .unwrap()
}

async fn set_len(redis: &RedisServer, post: &str) -> usize {
    redis
        .connection()
        .await
        .scard(format!("viewers:{post}"))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_expired_session_is_reaped_by_its_expiry_event() {
    let redis = RedisServer::start();
    let url = redis.url();
    let gc = GcProcess::start(&[
        ("PRESENCE_REDIS__URL", &url),
        ("PRESENCE_GC__SWEEP_INTERVAL_SECS", NO_SWEEP),
    ])
    .await;
    let server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let reader = Reader::viewing(&server.url(), "13").await;

    seed_ghost(&redis, "ghost", "13", Duration::from_secs(1)).await;
    reader.wait_for_count("13", 2).await;

    // The ghost's key expires; gc hears of it and reaps; the reader sees 1.
    reader.wait_for_count("13", 1).await;
    assert_eq!(
        hash_len(&redis).await,
        1,
        "only the live reader stays in the hash"
    );
    assert_eq!(set_len(&redis, "13").await, 1);
    assert_eq!(
        index_score(&redis, "13").await,
        Some(1),
        "the index follows"
    );
    let stats = presence_tests::api(&server.url(), "/api/stats").await;
    assert_eq!(
        (stats["viewers"].as_u64(), stats["posts"].as_u64()),
        (Some(1), Some(1)),
        "/api/stats after the reap"
    );
    let top = presence_tests::api(&server.url(), "/api/top").await;
    assert_eq!(
        top["posts"],
        serde_json::json!([{"post_id": "13", "viewers": 1}])
    );
    wait_for_metric(&gc, "presence_gc_reaped_expired_sessions_total", |v| {
        v == 1.0
    })
    .await;
    assert_eq!(
        gc.metric("presence_gc_swept_sessions_total").await,
        Some(0.0)
    );
}

#[tokio::test]
async fn a_session_key_deleted_behind_our_back_is_swept() {
    let redis = RedisServer::start();
    let url = redis.url();
    let gc = GcProcess::start(&[
        ("PRESENCE_REDIS__URL", &url),
        ("PRESENCE_GC__SWEEP_INTERVAL_SECS", "1"),
    ])
    .await;
    seed_ghost(&redis, "deleted", "13", Duration::from_secs(60)).await;
    // DEL sends no `expired` event: only the sweep can find this.
    let _: () = redis
        .connection()
        .await
        .del("session:deleted")
        .await
        .unwrap();
    eventually("the sweep to remove the session", GC_WAIT, async || {
        (hash_len(&redis).await == 0 && set_len(&redis, "13").await == 0).then_some(())
    })
    .await;
    assert_eq!(index_score(&redis, "13").await, None, "the index follows");
    wait_for_metric(&gc, "presence_gc_swept_sessions_total", |v| v >= 1.0).await;
}

/// The index is kept by the scripts; anything that bypasses them (a restore, a
/// hand edit) is set right by the next sweep, which tells how much it fixed.
#[tokio::test]
async fn the_sweep_repairs_a_damaged_site_index() {
    let redis = RedisServer::start();
    let url = redis.url();
    seed_ghost(&redis, "a", "13", Duration::from_secs(600)).await;
    seed_ghost(&redis, "b", "13", Duration::from_secs(600)).await;
    seed_ghost(&redis, "c", "7", Duration::from_secs(600)).await;
    assert_eq!(index_score(&redis, "13").await, Some(2));
    let mut conn = redis.connection().await;
    let _: () = redis::pipe()
        .zadd("presence:top", "13", 40)
        .zrem("presence:top", "7")
        .zadd("presence:top", "99", 5)
        .query_async(&mut conn)
        .await
        .unwrap();

    let gc = GcProcess::start(&[
        ("PRESENCE_REDIS__URL", &url),
        ("PRESENCE_GC__SWEEP_INTERVAL_SECS", NO_SWEEP),
    ])
    .await;
    wait_for_metric(&gc, "presence_gc_index_repairs_total", |v| v == 3.0).await;
    let index: Vec<(String, u64)> = conn
        .zrevrange_withscores("presence:top", 0, -1)
        .await
        .unwrap();
    assert_eq!(index, [("13".to_owned(), 2), ("7".to_owned(), 1)]);
    assert_eq!(hash_len(&redis).await, 3, "live sessions are left alone");
}

#[tokio::test]
async fn the_first_sweep_removes_what_expired_while_gc_was_down() {
    let redis = RedisServer::start();
    let url = redis.url();
    let settings = [
        ("PRESENCE_REDIS__URL", url.as_str()),
        ("PRESENCE_GC__SWEEP_INTERVAL_SECS", NO_SWEEP),
    ];
    let mut gc = GcProcess::start(&settings).await;
    gc.daemon.terminate();

    const GHOSTS: usize = 50;
    for i in 0..GHOSTS {
        seed_ghost(
            &redis,
            &format!("g{i}"),
            &format!("p{}", i % 7),
            Duration::from_secs(1),
        )
        .await;
    }
    let mut conn = redis.connection().await;
    // EXISTS deletes an expired key on the spot, so its one `expired` event goes
    // out now, while nobody listens.
    eventually("every ghost's key to expire", GC_WAIT, async || {
        for i in 0..GHOSTS {
            let alive: bool = conn.exists(format!("session:g{i}")).await.unwrap();
            if alive {
                return None;
            }
        }
        Some(())
    })
    .await;
    assert_eq!(
        hash_len(&redis).await,
        GHOSTS,
        "nobody reaped them: their events were lost"
    );

    let indexed: usize = conn.zcard("presence:top").await.unwrap();
    assert_eq!(indexed, 7, "the index still lists the ghosts' posts");

    let gc = GcProcess::start(&settings).await;
    eventually("the first sweep to clean everything", GC_WAIT, async || {
        let sets: Vec<String> = conn.keys("viewers:*").await.unwrap();
        let indexed: usize = conn.zcard("presence:top").await.unwrap();
        (hash_len(&redis).await == 0 && sets.is_empty() && indexed == 0).then_some(())
    })
    .await;
    wait_for_metric(&gc, "presence_gc_swept_sessions_total", |v| {
        v == GHOSTS as f64
    })
    .await;
    wait_for_metric(&gc, "presence_gc_sweep_duration_seconds_count", |v| {
        v >= 1.0
    })
    .await;
    wait_for_metric(&gc, "presence_gc_sweep_checked_entries_total", |v| {
        v >= GHOSTS as f64
    })
    .await;
    assert_eq!(
        gc.metric("presence_gc_reaped_expired_sessions_total").await,
        Some(0.0)
    );
}

#[tokio::test]
async fn gc_turns_expiry_events_back_on_after_redis_restarts() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let gc = GcProcess::start(&[
        ("PRESENCE_REDIS__URL", &url),
        ("PRESENCE_GC__SWEEP_INTERVAL_SECS", NO_SWEEP),
    ])
    .await;
    // A restarted Redis has forgotten CONFIG SET notify-keyspace-events.
    redis.restart();
    eventually("gc to re-enable expiry events", GC_WAIT, async || {
        let mut conn = redis.connection().await;
        let flags: (String, String) = redis::cmd("CONFIG")
            .arg("GET")
            .arg("notify-keyspace-events")
            .query_async(&mut conn)
            .await
            .ok()?;
        (flags.1.contains('E') && flags.1.contains('x')).then_some(())
    })
    .await;
    seed_ghost(&redis, "after-restart", "13", Duration::from_secs(1)).await;
    eventually("the ghost to be reaped by its event", GC_WAIT, async || {
        (hash_len(&redis).await == 0).then_some(())
    })
    .await;
    wait_for_metric(&gc, "presence_gc_reaped_expired_sessions_total", |v| {
        v >= 1.0
    })
    .await;
}

#[tokio::test]
async fn gc_says_what_to_configure_when_it_cannot() {
    // A managed Redis: CONFIG is not available, and notifications are off.
    let redis = RedisServer::start_with(&["--rename-command", "CONFIG", ""]);
    let (code, stderr) = GcProcess::run_to_exit(&[("PRESENCE_REDIS__URL", &redis.url())]);
    assert_eq!(code, Some(1), "{stderr}");
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.contains("notify-keyspace-events") && line.contains("Ex"),
        "{stderr}"
    );
}

#[tokio::test]
async fn gc_runs_on_a_managed_redis_that_is_configured() {
    // CONFIG is forbidden, but the operator set the flags: the probe proves it.
    let redis = RedisServer::start_with(&[
        "--rename-command",
        "CONFIG",
        "",
        "--notify-keyspace-events",
        "Ex",
    ]);
    let gc = GcProcess::start(&[
        ("PRESENCE_REDIS__URL", &redis.url()),
        ("PRESENCE_GC__SWEEP_INTERVAL_SECS", NO_SWEEP),
    ])
    .await;
    seed_ghost(&redis, "managed", "13", Duration::from_secs(1)).await;
    eventually("the ghost to be reaped", GC_WAIT, async || {
        (hash_len(&redis).await == 0).then_some(())
    })
    .await;
    wait_for_metric(&gc, "presence_gc_reaped_expired_sessions_total", |v| {
        v == 1.0
    })
    .await;
}
