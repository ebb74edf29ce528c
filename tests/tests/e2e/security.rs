//! Hostile clients: foreign origins, connection hoarding, floods, broken frames,
//! forged views.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use presence_core::PostId;
use presence_core::signing::{sign, unix_now};
use presence_tests::server::test_config;
use presence_tests::{Reader, RedisServer, eventually, spawn_server};
use redis::AsyncCommands;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use presence_tests::api;

const SECRET: &str = "a-long-shared-secret-for-tests";

#[tokio::test]
async fn only_allowed_origins_may_connect_or_read() {
    let mut config = test_config(None);
    config.security.allowed_origins = vec![
        "https://blog.example.com".into(),
        "https://*.example.org".into(),
    ];
    let server = spawn_server(config).await;
    let handshake = format!("{}/socket.io/?EIO=4&transport=polling", server.url());
    let client = reqwest::Client::new();
    for (origin, allowed) in [
        (Some("https://blog.example.com"), true),
        (Some("https://news.example.org"), true),
        (None, true),
        (Some("https://evil.example.net"), false),
        (Some("https://example.org"), false),
        (Some("https://blog.example.com.evil.net"), false),
    ] {
        let mut request = client.get(&handshake);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let status = request.send().await.unwrap().status();
        assert_eq!(status.is_success(), allowed, "{origin:?}: {status}");
        if !allowed {
            assert_eq!(status, 403);
        }
    }

    // A websocket from a foreign origin is refused at the upgrade.
    let ws_url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.address
    );
    let mut request = ws_url.clone().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", "https://evil.example.net".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    let mut request = ws_url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", "https://blog.example.com".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());

    // CORS: the API names allowed origins only.
    let api_url = format!("{}/api/posts/13", server.url());
    let allowed = client
        .get(&api_url)
        .header("Origin", "https://news.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://news.example.org"
    );
    let foreign = client
        .get(&api_url)
        .header("Origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // An editor's browser sends a notice with a notice token: the preflight names
    // Authorization itself, as `*` does not cover it.
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/posts/13/notices", server.url()),
        )
        .header("Origin", "https://news.example.org")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    let allowed_headers = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let mut config = test_config(None);
    config.security.max_connections_per_ip = 3;
    let server = spawn_server(config).await;
    let url = server.url();
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(Reader::try_connect(&url, &[]).await.unwrap());
    }
    assert!(
        Reader::try_connect(&url, &[]).await.is_err(),
        "the 4th is refused"
    );
    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    assert!(
        Reader::try_connect(&url, &[("X-Forwarded-For", "203.0.113.9")])
            .await
            .is_err()
    );

    readers.pop().unwrap().leave().await;
    eventually(
        "the slot to be given back",
        Duration::from_secs(5),
        async || Reader::try_connect(&url, &[]).await.ok(),
    )
    .await;
    // Every connection counts, a plain request too: this address has none left,
    // so the metrics are read from another one.
    let from_elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let metrics = from_elsewhere
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("presence_limited_total{limit=\"connections_per_ip\"}"),
        "{metrics}"
    );
    server.shutdown().await;
}

/// A connection that goes away between its namespace CONNECT and the server's
/// acknowledgement is dropped by socketioxide without a disconnect handler. Its
/// session must not stay behind (keep-alive removes such orphan sessions), or
/// every such tab would leak a session and its memory for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_vanish_while_connecting_leave_no_session_behind() {
    let mut config = test_config(None);
    config.security.max_connections_per_ip = 1000;
    // Keep-alive, which removes orphans, runs every TTL/3 = 1 s.
    config.session.ttl_secs = 3;
    let server = spawn_server(config).await;
    let url = server.url();
    let ws_url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.address
    );
    // Ten at a time, so the server is busy while they vanish: the race needs the
    // close to be noticed between our connect middleware and the acknowledgement.
    for _ in 0..30 {
        let vanishing = (0..10).map(|_| async {
            let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
                .await
                .unwrap();
            let _open = ws.next().await;
            ws.send(Message::text("40")).await.unwrap();
            // No close handshake: the connection just ends, as a tab closed mid-connect.
            drop(ws);
        });
        futures_util::future::join_all(vanishing).await;
    }
    // Orphans are removed once 10 s old, at a keep-alive tick.
    eventually(
        "every vanished connection's session to be gone",
        Duration::from_secs(30),
        async || {
            let metrics = presence_tests::metrics::scrape(&url).await;
            (presence_tests::metrics::sample(&metrics, "presence_connections") == Some(0.0))
                .then_some(())
        },
    )
    .await;
    let reader = Reader::try_connect(&url, &[]).await.unwrap();
    reader.view("13").await;
    reader.wait_for_count("13", 1).await;
    let metrics = presence_tests::metrics::scrape(&url).await;
    let sample = |name: &str| presence_tests::metrics::sample(&metrics, name);
    assert!(
        sample("presence_disconnects_total{reason=\"unacknowledged\"}").unwrap_or(0.0) >= 1.0,
        "the race this test is about did not happen:\n{metrics}"
    );
    assert_eq!(sample("presence_connections"), Some(1.0), "{metrics}");
    server.shutdown().await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let mut config = test_config(None);
    config.security.max_connections_per_ip = 1;
    config.security.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let server = spawn_server(config).await;
    let url = server.url();
    // The test plays the trusted proxy: each forwarded client has its own cap.
    let _a = Reader::try_connect(&url, &[("X-Forwarded-For", "203.0.113.1")])
        .await
        .unwrap();
    let _b = Reader::try_connect(&url, &[("X-Forwarded-For", "203.0.113.2")])
        .await
        .unwrap();
    assert!(
        Reader::try_connect(&url, &[("X-Forwarded-For", "203.0.113.1")])
            .await
            .is_err()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_ten_thousand_viewing_events_changes_nothing_for_others() {
    let redis = RedisServer::start();
    let server = spawn_server(test_config(Some(&redis.url()))).await;
    let url = server.url();
    let watcher = Reader::viewing(&url, "calm").await;

    let started = Instant::now();
    let _first = Reader::viewing(&url, "calm").await;
    watcher.wait_for_count("calm", 2).await;
    let quiet_update = started.elapsed();

    let flooder = Reader::connect(&url).await;
    let flood = tokio::spawn(async move {
        for i in 0..10_000 {
            flooder.view(format!("f{}", i % 30)).await;
        }
        flooder
    });
    // While the flood runs, other readers' updates still arrive.
    let started = Instant::now();
    let _second = Reader::viewing(&url, "calm").await;
    watcher.wait_for_count("calm", 3).await;
    let flooded_update = started.elapsed();
    let flooder = flood.await.unwrap();
    println!("update latency: quiet {quiet_update:?}, during the flood {flooded_update:?}");

    let mut conn = redis.connection().await;
    let sessions: usize = conn.hlen("viewers").await.unwrap();
    assert_eq!(
        sessions, 4,
        "the flooder is one session (plus three readers)"
    );
    let sets: Vec<String> = conn.keys("viewers:f*").await.unwrap();
    assert!(
        sets.len() <= 1,
        "the flooder reads at most one post: {sets:?}"
    );
    let errors = flooder.errors();
    assert!(
        !errors.is_empty() && errors.len() < 100,
        "a few rate_limited errors, not a flood: {}",
        errors.len()
    );
    assert!(
        errors.iter().all(|e| e["error"] == "rate_limited"),
        "{errors:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_socket_cannot_tour_the_whole_site() {
    let mut config = test_config(None);
    config.security.max_posts_per_socket = 3;
    config.security.viewing_per_second = 1000;
    let server = spawn_server(config).await;
    let reader = Reader::connect(&server.url()).await;
    for post in ["a", "b", "c", "a"] {
        reader.view(post).await;
        reader.wait_for_count(post, 1).await;
    }
    reader.view("d").await;
    let error = reader.wait_for_error().await;
    assert_eq!(error["error"], "too_many_posts");
    assert_eq!(api(&server.url(), "/api/posts/d").await["viewers"], 0);
    assert_eq!(
        api(&server.url(), "/api/posts/a").await["viewers"],
        1,
        "it stays where it was"
    );
    server.shutdown().await;
}

/// A raw Engine.IO websocket, past the handshake and namespace connect.
async fn raw_socket(
    server: &presence_tests::TestServer,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.address
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = ws.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with("0{"), "{open:?}");
    ws.send(Message::text("40")).await.unwrap();
    // The first ping may come before the namespace acknowledgement.
    loop {
        let message = ws.next().await.unwrap().unwrap();
        let text = message.to_text().unwrap();
        if text == "2" {
            ws.send(Message::text("3")).await.unwrap();
            continue;
        }
        assert!(text.starts_with("40{"), "{message:?}");
        return ws;
    }
}

#[tokio::test]
async fn oversized_and_malformed_frames_are_rejected_without_a_crash() {
    let server = spawn_server(test_config(None)).await;
    let huge_id = "a".repeat(2000);
    let deep = format!("42[\"viewing\",{}1{}]", "[".repeat(5000), "]".repeat(5000));
    let frames: Vec<Message> = vec![
        Message::text(format!("42[\"viewing\",\"{huge_id}\"]")),
        Message::text(deep),
        Message::text("42["),
        Message::text("42[\"viewing\""),
        Message::text("4"),
        Message::text("9"),
        Message::text("42{}"),
        Message::text("42[]"),
        Message::text("42[13]"),
        Message::text("43[\"viewing\",13]"),
        Message::text("45-[\"viewing\",{\"_placeholder\":true,\"num\":0}]"),
        Message::text("42/nope,[\"viewing\",13]"),
        Message::text("\u{0}\u{1}"),
        Message::binary(vec![0xff, 0x00, 0x42, 0x13]),
        Message::text("2probe"),
        Message::text("6"),
    ];
    for frame in frames {
        let description = format!("{frame:?}").chars().take(60).collect::<String>();
        let mut ws = raw_socket(&server).await;
        let _ = ws.send(frame).await;
        // Whatever the server makes of it — an error event, ignoring it, closing
        // the connection — it answers within a moment and stays up.
        let _ = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
        let health = reqwest::get(format!("{}/healthz", server.url()))
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "after {description}");
    }
    // Polling with a made-up session id is refused, not crashed on.
    let bogus = reqwest::Client::new()
        .post(format!(
            "{}/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAA",
            server.url()
        ))
        .body("42[\"viewing\",13]")
        .send()
        .await
        .unwrap();
    assert!(bogus.status().is_client_error(), "{}", bogus.status());

    // Nothing was recorded, and a normal reader is served.
    let reader = Reader::viewing(&server.url(), 13).await;
    reader.wait_for_count("13", 1).await;
    server.shutdown().await;
}

#[tokio::test]
async fn signed_views_are_accepted_and_forged_ones_refused() {
    let mut config = test_config(None);
    config.security.view_secret = SECRET.into();
    config.security.require_signed_views = true;
    config.security.viewing_per_second = 1000;
    let server = spawn_server(config).await;
    let url = server.url();
    let post = PostId::parse("13").unwrap();
    let valid = sign(SECRET, &post, unix_now() + 3600);
    let expired = sign(SECRET, &post, unix_now() - 10);
    let mut tampered = valid.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'a' { 'b' } else { 'a' });
    let for_other_post = sign(SECRET, &PostId::parse("14").unwrap(), unix_now() + 3600);

    let reader = Reader::connect(&url).await;
    let refused = [
        (json!(13), "token_required"),
        (json!({"post": "13"}), "token_required"),
        (json!({"post": "13", "token": expired}), "invalid_token"),
        (json!({"post": "13", "token": tampered}), "invalid_token"),
        (
            json!({"post": "13", "token": for_other_post}),
            "invalid_token",
        ),
        (json!({"post": "13", "token": "garbage"}), "invalid_token"),
    ];
    for (i, (payload, code)) in refused.iter().enumerate() {
        reader.view(payload.clone()).await;
        eventually(
            &format!("a refusal of {payload}"),
            Duration::from_secs(5),
            async || (reader.errors().len() > i).then_some(()),
        )
        .await;
        assert_eq!(reader.errors()[i]["error"], *code, "{payload}");
    }
    assert_eq!(
        api(&url, "/api/posts/13").await["viewers"],
        0,
        "no forged view counted"
    );

    reader.view(json!({"post": "13", "token": valid})).await;
    reader.wait_for_count("13", 1).await;
    assert_eq!(api(&url, "/api/posts/13").await["views"], 1);
    server.shutdown().await;
}
