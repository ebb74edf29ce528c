//! One suite, both stores: everything here runs against `MemoryStore` and against a
//! real `redis-server`, and must behave the same.

use std::sync::Arc;
use std::time::Duration;

use presence_core::config::RedisConfig;
use presence_core::{Keys, MemoryStore, PostId, RedisStore, SessionId, Store};
use presence_tests::server::test_config;
use presence_tests::{Reader, RedisServer, api, spawn_server};
use serde_json::json;

/// Short, so expiry tests are quick; above the minimum of 3 s the config allows
/// for real deployments, the stores themselves accept any TTL.
const SHORT_TTL: Duration = Duration::from_secs(1);

fn post(id: &str) -> PostId {
    PostId::parse(id).unwrap()
}

fn session(id: &str) -> SessionId {
    SessionId::parse(id).unwrap()
}

fn redis_store(redis: &RedisServer, ttl: Duration) -> Arc<dyn Store> {
    let config = RedisConfig {
        url: redis.url(),
        ..RedisConfig::default()
    };
    Arc::new(RedisStore::connect(&config, Keys::default(), ttl).unwrap())
}

/// Runs `$body` once with a MemoryStore and once with a RedisStore, each with a
/// session TTL of `$ttl`.
macro_rules! for_both_stores {
    ($name:ident, $ttl:expr, |$store:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn scenario($store: Arc<dyn Store>) $body

            #[tokio::test]
            async fn memory() {
                scenario(Arc::new(MemoryStore::new($ttl))).await;
            }

            #[tokio::test]
            async fn redis() {
                let redis = RedisServer::start();
                scenario(redis_store(&redis, $ttl)).await;
            }
        }
    };
}

for_both_stores!(view_moves_and_counts, Duration::from_secs(60), |store| {
    let (a, b) = (session("a"), session("b"));
    let first = store.view(&a, &post("13"), None, true).await.unwrap();
    assert_eq!((first.viewers, first.views, first.left), (1, 1, None));
    let second = store.view(&b, &post("13"), None, true).await.unwrap();
    assert_eq!((second.viewers, second.views), (2, 2));

    // Saying `viewing` again for the same post neither adds a reader nor a view.
    let again = store
        .view(&a, &post("13"), Some(&post("13")), false)
        .await
        .unwrap();
    assert_eq!((again.viewers, again.views, again.left), (2, 2, None));

    // A move updates both posts at once.
    let moved = store
        .view(&a, &post("7"), Some(&post("13")), true)
        .await
        .unwrap();
    assert_eq!((moved.viewers, moved.views), (1, 1));
    assert_eq!(moved.left, Some((post("13"), 1)));

    let stats = store
        .post_stats(&[post("13"), post("7"), post("nobody")])
        .await
        .unwrap();
    let figures: Vec<_> = stats.iter().map(|s| (s.viewers, s.views)).collect();
    assert_eq!(figures, [(1, 2), (1, 1), (0, 0)]);
    assert_eq!(
        store.viewer_counts(&[post("7"), post("13")]).await.unwrap(),
        [1, 1]
    );
});

for_both_stores!(leave_removes_at_once, Duration::from_secs(60), |store| {
    let (a, b) = (session("a"), session("b"));
    store.view(&a, &post("13"), None, true).await.unwrap();
    store.view(&b, &post("13"), None, true).await.unwrap();
    assert_eq!(store.leave(&a, &post("13")).await.unwrap(), Some(1));
    assert_eq!(
        store.leave(&a, &post("13")).await.unwrap(),
        None,
        "second leave is a no-op"
    );
    assert_eq!(store.leave(&b, &post("13")).await.unwrap(), Some(0));
    assert_eq!(store.viewer_counts(&[post("13")]).await.unwrap(), [0]);
    // Views are all-time: they stay.
    assert_eq!(store.post_stats(&[post("13")]).await.unwrap()[0].views, 2);
});

for_both_stores!(
    wrong_belief_is_corrected,
    Duration::from_secs(60),
    |store| {
        // The caller believes the session reads 99, but it reads 13: the store must
        // still move it off 13, not leave a ghost there.
        let a = session("a");
        store.view(&a, &post("13"), None, true).await.unwrap();
        let moved = store
            .view(&a, &post("7"), Some(&post("99")), true)
            .await
            .unwrap();
        assert_eq!(moved.viewers, 1);
        assert_eq!(
            store.viewer_counts(&[post("13"), post("7")]).await.unwrap(),
            [0, 1]
        );
        assert_eq!(store.leave(&a, &post("99")).await.unwrap(), Some(0));
        assert_eq!(store.viewer_counts(&[post("7")]).await.unwrap(), [0]);
    }
);

for_both_stores!(keep_alive_outlives_the_ttl, SHORT_TTL, |store| {
    let (kept, dropped) = (session("kept"), session("dropped"));
    store.view(&kept, &post("13"), None, true).await.unwrap();
    store.view(&dropped, &post("13"), None, true).await.unwrap();
    for _ in 0..6 {
        tokio::time::sleep(SHORT_TTL / 3).await;
        let lost = store
            .keep_alive(&[(kept.clone(), post("13"))])
            .await
            .unwrap();
        assert!(lost.is_empty(), "a kept-alive session expired");
    }
    // `dropped` got no keep-alive for 2 TTLs: the store reports it lost.
    let lost = store
        .keep_alive(&[(kept.clone(), post("13")), (dropped.clone(), post("13"))])
        .await
        .unwrap();
    assert_eq!(lost, [1]);
});

#[tokio::test]
async fn memory_store_expires_sessions_by_itself() {
    // In Redis, gc removes expired sessions (tested with the gc); the embedded store
    // must do it alone.
    let store = MemoryStore::new(SHORT_TTL);
    let mut changes = store.changes();
    store
        .view(&session("a"), &post("13"), None, true)
        .await
        .unwrap();
    assert_eq!(store.viewer_counts(&[post("13")]).await.unwrap(), [1]);
    presence_tests::eventually(
        "the session to expire",
        Duration::from_secs(5),
        async || (store.viewer_counts(&[post("13")]).await.unwrap() == [0]).then_some(()),
    )
    .await;
    // ... and announce it, so readers get the new count.
    let mut announced = Vec::new();
    while let Ok(change) = changes.try_recv() {
        announced.push(change);
    }
    assert_eq!(
        announced.last(),
        Some(&presence_core::Change::Post(post("13")))
    );
}

/// The foundation scenario through a real server and `rust_socketio` clients:
/// 3 readers on 13 and 2 on 7 see 3 and 2; one leaves; the rest see 2; HTTP agrees.
async fn three_and_two(url: &str) {
    let mut on_13 = vec![
        Reader::viewing(url, "13").await,
        Reader::viewing(url, 13).await,
        Reader::viewing(url, "13").await,
    ];
    let on_7 = vec![
        Reader::viewing(url, "7").await,
        Reader::viewing(url, 7).await,
    ];
    for reader in &on_13 {
        reader.wait_for_count("13", 3).await;
    }
    for reader in &on_7 {
        reader.wait_for_count("7", 2).await;
    }
    assert_eq!(api(url, "/api/posts/13").await["viewers"], 3);

    on_13.remove(0).leave().await;
    for reader in &on_13 {
        reader.wait_for_count("13", 2).await;
    }
    let both = api(url, "/api/posts?ids=13,7").await;
    assert_eq!(
        both,
        json!({"posts": [
            {"post_id": "13", "viewers": 2, "views": 3},
            {"post_id": "7", "viewers": 2, "views": 2},
        ]})
    );
    for reader in &on_7 {
        assert_eq!(reader.count("7"), Some(2), "post 7 must not be disturbed");
        assert_eq!(reader.count("13"), None, "readers of 7 get no counts of 13");
    }
    assert!(on_7[0].views("7").is_some(), "views are sent on viewing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_scenario_on_memory() {
    let server = spawn_server(test_config(None)).await;
    three_and_two(&server.url()).await;
    server.shutdown().await;
}

#[tokio::test]
async fn socket_scenario_on_redis() {
    let redis = RedisServer::start();
    let server = spawn_server(test_config(Some(&redis.url()))).await;
    three_and_two(&server.url()).await;
    server.shutdown().await;
}
