//! What the server writes to Redis is exactly the 2015 schema, plus the site-wide
//! index and the dashboard's history.

use presence_tests::server::test_config;
use presence_tests::{Reader, RedisServer, eventually, spawn_server};
use redis::AsyncCommands;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn a_move_from_13_to_7_leaves_exactly_the_design_keys() {
    let redis = RedisServer::start();
    let mut config = test_config(Some(&redis.url()));
    config.session.ttl_secs = 20;
    let server = spawn_server(config).await;
    let reader = Reader::viewing(&server.url(), 13).await;
    reader.view(7).await;
    reader.wait_for_count("7", 1).await;

    let mut conn = redis.connection().await;
    let hash: HashMap<String, String> = conn.hgetall("viewers").await.unwrap();
    assert_eq!(hash.len(), 1, "one session in the hash: {hash:?}");
    let (session, post) = hash.into_iter().next().unwrap();
    assert_eq!(post, "7");

    let on_7: Vec<String> = conn.smembers("viewers:7").await.unwrap();
    assert_eq!(on_7, std::slice::from_ref(&session));
    let on_13_exists: bool = conn.exists("viewers:13").await.unwrap();
    assert!(!on_13_exists, "the empty set of 13 is gone");

    let session_key = format!("session:{session}");
    let value: String = conn.get(&session_key).await.unwrap();
    assert_eq!(value, "7");
    let ttl: i64 = conn.ttl(&session_key).await.unwrap();
    assert!(
        (1..=20).contains(&ttl),
        "session key has the configured TTL, got {ttl}"
    );

    let views_13: u64 = conn.get("views:13").await.unwrap();
    let views_7: u64 = conn.get("views:7").await.unwrap();
    assert_eq!((views_13, views_7), (1, 1));

    let mut keys: Vec<String> = conn.keys("*").await.unwrap();
    keys.sort();
    let index: Vec<(String, u64)> = conn.zrange_withscores("presence:top", 0, -1).await.unwrap();
    assert_eq!(index, [("7".to_owned(), 1)], "the index lists 7 only");
    let mut expected = vec![
        "presence:top".to_owned(),
        // Sampled by the clock (one member per dashboard.history_step_secs).
        "presence:history".to_owned(),
        "viewers".to_owned(),
        "viewers:7".into(),
        session_key,
        "views:13".into(),
        "views:7".into(),
    ];
    expected.sort();
    assert_eq!(keys, expected, "nothing else is written");

    reader.leave().await;
    eventually(
        "the hash to empty after the leave",
        Duration::from_secs(5),
        async || {
            let len: usize = conn.hlen("viewers").await.unwrap();
            (len == 0).then_some(())
        },
    )
    .await;
    let left: Vec<String> = conn.keys("*").await.unwrap();
    let mut left = left;
    left.sort();
    assert_eq!(
        left,
        ["presence:history", "views:13", "views:7"],
        "a leave removes everything but the views (and the history, which expires by itself)"
    );
    let history_ttl: i64 = conn.ttl("presence:history").await.unwrap();
    assert!(history_ttl > 0, "the history has a TTL, got {history_ttl}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_key_prefix_puts_every_key_under_it() {
    let redis = RedisServer::start();
    let mut config = test_config(Some(&redis.url()));
    config.redis.key_prefix = "blog1:".into();
    let server = spawn_server(config).await;
    let reader = Reader::viewing(&server.url(), 13).await;
    let mut conn = redis.connection().await;
    let keys: Vec<String> = conn.keys("*").await.unwrap();
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k.starts_with("blog1:")),
        "unprefixed key in {keys:?}"
    );
    reader.leave().await;
    server.shutdown().await;
}
