//! Hostile and broken input: a clear error, nothing written, nothing crashes.

use std::time::Duration;

use presence_tests::server::test_config;
use presence_tests::{Reader, RedisServer, eventually, spawn_server};
use redis::AsyncCommands;
use serde_json::{Value, json};

use presence_tests::api;

#[tokio::test]
async fn invalid_post_ids_get_an_error_and_write_nothing() {
    let redis = RedisServer::start();
    let mut config = test_config(Some(&redis.url()));
    config.security.viewing_per_second = 1000;
    let server = spawn_server(config).await;
    let reader = Reader::connect(&server.url()).await;

    let too_long = "a".repeat(65);
    let bad_ids: Vec<Value> = vec![
        json!(""),
        json!(too_long),
        json!("a:b"),
        json!("a b"),
        json!("13\n"),
        json!("viewers:*"),
        json!({"id": 13}),
        json!([13]),
        json!(null),
        json!(true),
        json!(0),
        json!(-5),
        json!(1.5),
        json!(1e300),
        json!(u64::MAX),
        json!(9_007_199_254_740_992_u64),
    ];
    for (i, bad) in bad_ids.iter().enumerate() {
        reader.view(bad.clone()).await;
        eventually(
            &format!("an error for {bad}"),
            Duration::from_secs(5),
            async || (reader.errors().len() > i).then_some(()),
        )
        .await;
    }
    // No argument at all.
    reader.emit_raw("viewing", vec![]).await;
    eventually(
        "an error for a missing argument",
        Duration::from_secs(5),
        async || (reader.errors().len() == bad_ids.len() + 1).then_some(()),
    )
    .await;
    for error in reader.errors() {
        let code = error["error"].as_str().unwrap_or_default();
        assert!(
            ["invalid_post_id", "invalid_viewing"].contains(&code),
            "{error}"
        );
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }

    // Nothing was written (but the dashboard's history, which the clock writes),
    // and the socket still works.
    let mut conn = redis.connection().await;
    let keys: Vec<String> = conn.keys("*").await.unwrap();
    assert!(
        keys.iter().all(|key| key == "presence:history"),
        "invalid input wrote {keys:?}"
    );
    // Extra arguments are ignored, as Socket.IO servers do: the first is the id.
    reader
        .emit_raw("viewing", vec![json!(13), json!("extra")])
        .await;
    reader.wait_for_count("13", 1).await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_last_viewing_wins_however_fast_they_come() {
    let mut config = test_config(None);
    config.security.viewing_per_second = 1000;
    config.security.max_posts_per_socket = 1000;
    let server = spawn_server(config).await;
    let reader = Reader::connect(&server.url()).await;
    for round in 0..20 {
        let (first, last) = (format!("a{round}"), format!("b{round}"));
        reader.view(first.clone()).await;
        reader.view(last.clone()).await;
        reader.wait_for_count(&last, 1).await;
        let posts = api(&server.url(), &format!("/api/posts?ids={first},{last}")).await;
        assert_eq!(posts["posts"][0]["viewers"], 0, "round {round}: {posts}");
        assert_eq!(posts["posts"][1]["viewers"], 1, "round {round}: {posts}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_viewing_events_records_one_session() {
    let redis = RedisServer::start();
    let server = spawn_server(test_config(Some(&redis.url()))).await;
    let bystander = Reader::viewing(&server.url(), "quiet").await;
    let flooder = Reader::connect(&server.url()).await;
    for i in 0..2000 {
        flooder.view(format!("p{}", i % 40)).await;
    }
    // The flood is refused past security.viewing_per_second, with one error.
    let error = flooder.wait_for_error().await;
    assert_eq!(error["error"], "rate_limited");
    // Once the budget refills, the socket works again.
    eventually(
        "a viewing after the flood",
        Duration::from_secs(10),
        async || {
            flooder.view("final").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            flooder.count("final")
        },
    )
    .await;

    let mut conn = redis.connection().await;
    let sessions: usize = conn.hlen("viewers").await.unwrap();
    assert_eq!(
        sessions, 2,
        "the flooder is one session, plus the bystander"
    );
    let sets: Vec<String> = conn.keys("viewers:*").await.unwrap();
    let mut sets = sets;
    sets.sort();
    assert_eq!(sets, ["viewers:final", "viewers:quiet"]);

    // The server still serves everyone else.
    let other = Reader::viewing(&server.url(), "quiet").await;
    bystander.wait_for_count("quiet", 2).await;
    assert_eq!(api(&server.url(), "/api/posts/quiet").await["viewers"], 2);
    other.leave().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_http_api_rejects_bad_ids_with_json() {
    let server = spawn_server(test_config(None)).await;
    let url = server.url();
    let cases = [
        "/api/posts/a%3Ab".to_owned(),
        "/api/posts/a%20b".to_owned(),
        format!("/api/posts/{}", "x".repeat(65)),
        "/api/posts?ids=".to_owned(),
        "/api/posts".to_owned(),
        "/api/posts?ids=13,,7".to_owned(),
        "/api/posts?ids=13,a:b".to_owned(),
        format!("/api/posts?ids={}", vec!["1"; 101].join(",")),
    ];
    for path in cases {
        let response = reqwest::get(format!("{url}{path}")).await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{path}: {body}"
        );
    }
    let metrics = presence_tests::metrics::scrape(&url).await;
    assert_eq!(
        presence_tests::metrics::sample(&metrics, "presence_limited_total{limit=\"batch_ids\"}"),
        Some(1.0),
        "{metrics}"
    );
    let at_limit = vec!["1"; 100].join(",");
    let ok = api(&url, &format!("/api/posts?ids={at_limit}")).await;
    assert_eq!(ok["posts"].as_array().map(Vec::len), Some(100));
    server.shutdown().await;
}

#[tokio::test]
async fn readiness_reports_a_dead_redis() {
    let mut redis = RedisServer::start();
    let server = spawn_server(test_config(Some(&redis.url()))).await;
    let ready = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    redis.stop();
    let response = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    let health = reqwest::get(format!("{}/healthz", server.url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process itself is fine");

    // A reader arriving now gets a clear error, not a crash.
    let reader = Reader::connect(&server.url()).await;
    reader.view(13).await;
    let error = reader.wait_for_error().await;
    assert_eq!(error["error"], "unavailable");
    server.shutdown().await;
}
