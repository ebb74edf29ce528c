//! Notices across two server processes on one Redis, over HTTP and the Redis
//! submission channel.

use std::time::Duration;

use presence_tests::{Reader, RedisServer, ServerProcess, eventually};
use redis::AsyncCommands;
use serde_json::{Value, json};

const TOKEN: &str = "a-notice-token-for-tests";

async fn post_notice(url: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits until `reader` got the notice `id`, and checks it got it exactly once.
async fn received_once(reader: &Reader, id: &str) -> Value {
    let notice = eventually(
        &format!("notice {id}"),
        Duration::from_secs(5),
        async || reader.notices().into_iter().find(|n| n["id"] == id),
    )
    .await;
    // Let any duplicate arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copies = reader.notices().iter().filter(|n| n["id"] == id).count();
    assert_eq!(copies, 1, "notice {id} delivered {copies} times");
    notice
}

#[tokio::test]
async fn notices_reach_the_readers_of_a_post_on_every_server_and_nobody_else() {
    let redis = RedisServer::start();
    let settings = [
        ("PRESENCE_REDIS__URL", redis.url()),
        ("PRESENCE_NOTICES__TOKEN", TOKEN.to_owned()),
    ];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = ServerProcess::start(&settings).await;
    let b = ServerProcess::start(&settings).await;
    let on_a = Reader::viewing(&a.url(), "13").await;
    let on_b = Reader::viewing(&b.url(), "13").await;
    let elsewhere = Reader::viewing(&b.url(), "7").await;
    on_a.wait_for_count("13", 2).await;

    let (status, body) = post_notice(
        &a.url(),
        "/api/posts/13/notices",
        TOKEN,
        r#"{"kind":"text","text":"Correction: the vote is on Tuesday","url":"https://example.com/c"}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    for reader in [&on_a, &on_b] {
        let notice = received_once(reader, &id).await;
        assert_eq!(notice["kind"], "text");
        assert_eq!(notice["text"], "Correction: the vote is on Tuesday");
        assert_eq!(notice["post_id"], "13");
    }
    assert!(
        elsewhere.notices().is_empty(),
        "a reader of post 7 got {:?}",
        elsewhere.notices()
    );

    // Site-wide: everyone, on both servers.
    let (status, body) =
        post_notice(&b.url(), "/api/notices", TOKEN, r#"{"kind":"updated"}"#).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    for reader in [&on_a, &on_b, &elsewhere] {
        let notice = received_once(reader, &id).await;
        assert_eq!(notice["post_id"], Value::Null);
    }

    // The Redis channel: validated, and delivered once although both servers hear it.
    let mut conn = redis.connection().await;
    let submitted = json!({"post_id": "7", "kind": "text", "text": "Live: results at 9"});
    let _: () = conn
        .publish("presence:notices:submit", submitted.to_string())
        .await
        .unwrap();
    let notice = eventually(
        "the Redis-channel notice",
        Duration::from_secs(5),
        async || {
            elsewhere
                .notices()
                .into_iter()
                .find(|n| n["text"] == "Live: results at 9")
        },
    )
    .await;
    received_once(&elsewhere, notice["id"].as_str().unwrap()).await;
    // An invalid submission is dropped.
    let _: () = conn
        .publish(
            "presence:notices:submit",
            r#"{"post_id":"7","kind":"shout"}"#,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(elsewhere.notices().len(), 2, "{:?}", elsewhere.notices());
    assert!(
        on_a.notices()
            .iter()
            .all(|n| n["text"] != "Live: results at 9")
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_right_status() {
    let redis = RedisServer::start();
    let url = redis.url();
    let server = ServerProcess::start(&[
        ("PRESENCE_REDIS__URL", &url),
        ("PRESENCE_NOTICES__TOKEN", TOKEN),
        ("PRESENCE_NOTICES__PER_POST_PER_MINUTE", "3"),
        ("PRESENCE_NOTICES__SITE_PER_MINUTE", "1"),
    ])
    .await;
    let base = server.url();
    let good = r#"{"kind":"updated"}"#;
    assert_eq!(
        post_notice(&base, "/api/posts/13/notices", "wrong-token", good)
            .await
            .0,
        401
    );
    assert_eq!(
        post_notice(&base, "/api/posts/13/notices", "", good)
            .await
            .0,
        401
    );
    let too_big = format!(r#"{{"kind":"text","text":"{}"}}"#, "x".repeat(5000));
    for body in [
        "",
        "{",
        "[]",
        r#"{"kind":"shout"}"#,
        r#"{"kind":"text"}"#,
        &too_big,
        r#"{"kind":"updated","url":"javascript:x"}"#,
    ] {
        let (status, answer) = post_notice(&base, "/api/posts/13/notices", TOKEN, body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_notice");
    }
    assert_eq!(
        post_notice(&base, "/api/posts/a:b/notices", TOKEN, good)
            .await
            .0,
        400
    );

    // A burst past the limit: 3 per post per minute, then 429; other posts are not affected.
    for _ in 0..3 {
        assert_eq!(
            post_notice(&base, "/api/posts/13/notices", TOKEN, good)
                .await
                .0,
            202
        );
    }
    let (status, answer) = post_notice(&base, "/api/posts/13/notices", TOKEN, good).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(
        post_notice(&base, "/api/posts/14/notices", TOKEN, good)
            .await
            .0,
        202
    );
    assert_eq!(post_notice(&base, "/api/notices", TOKEN, good).await.0, 202);
    assert_eq!(post_notice(&base, "/api/notices", TOKEN, good).await.0, 429);
}

#[tokio::test]
async fn without_a_token_notices_are_off() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &redis.url())]).await;
    let reader = Reader::viewing(&server.url(), "13").await;
    let mut conn = redis.connection().await;
    let _: () = conn
        .publish(
            "presence:notices:submit",
            r#"{"post_id":"13","kind":"updated"}"#,
        )
        .await
        .unwrap();
    let (status, _) = post_notice(
        &server.url(),
        "/api/notices",
        "anything",
        r#"{"kind":"updated"}"#,
    )
    .await;
    assert_eq!(status, 404);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(reader.notices().is_empty(), "{:?}", reader.notices());
}

/// A POST of `body` from the loopback address `from`, with `Authorization: <authorization>`.
async fn post_from(from: &str, url: &str, authorization: &str, body: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
        .post(url)
        .header("Authorization", authorization)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_notice_token_reaches_its_post_only_for_a_short_while() {
    use presence_core::PostId;
    use presence_core::signing::{sign_notice, unix_now};

    let server = ServerProcess::start(&[("PRESENCE_NOTICES__TOKEN", TOKEN)]).await;
    let base = server.url();
    let reader = Reader::viewing(&base, "13").await;
    reader.wait_for_count("13", 1).await;
    let post = PostId::parse("13").unwrap();
    let signed = sign_notice(TOKEN, &post, unix_now() + 300);

    let (status, body) = post_notice(
        &base,
        "/api/posts/13/notices",
        &signed,
        r#"{"kind":"updated"}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    received_once(&reader, body["id"].as_str().unwrap()).await;

    // Another post, the whole site, a lapsed token, one valid for too long, one
    // signed with another secret: all refused.
    let lapsed = sign_notice(TOKEN, &post, unix_now() - 1);
    let too_long = sign_notice(TOKEN, &post, unix_now() + 2 * 3600);
    let foreign = sign_notice("another-secret-entirely", &post, unix_now() + 300);
    for (path, token) in [
        ("/api/posts/14/notices", &signed),
        ("/api/notices", &signed),
        ("/api/posts/13/notices", &lapsed),
        ("/api/posts/13/notices", &too_long),
        ("/api/posts/13/notices", &foreign),
    ] {
        let (status, body) = post_notice(&base, path, token, r#"{"kind":"updated"}"#).await;
        assert_eq!(status, 401, "{path} {token}: {body}");
    }
}

#[tokio::test]
async fn wrong_tokens_are_limited_per_address_and_counted() {
    let dashboard_token = "a-dashboard-token-for-tests";
    let server = ServerProcess::start(&[
        ("PRESENCE_NOTICES__TOKEN", TOKEN),
        ("PRESENCE_DASHBOARD__TOKEN", dashboard_token),
    ])
    .await;
    let base = server.url();
    let notices = format!("{base}/api/notices");
    let good = r#"{"kind":"updated"}"#;

    // The scheme is case-insensitive.
    let lower = post_from("127.0.0.1", &notices, &format!("bearer {TOKEN}"), good).await;
    assert_eq!(lower.status(), 202);

    // Ten wrong guesses from one address are answered 401, then everything from it is
    // refused, the right token too; another address is not affected.
    for guess in 0..10 {
        let wrong = post_from(
            "127.0.0.9",
            &notices,
            &format!("Bearer guess-{guess}"),
            good,
        )
        .await;
        assert_eq!(wrong.status(), 401, "guess {guess}");
    }
    let locked = post_from("127.0.0.9", &notices, &format!("Bearer {TOKEN}"), good).await;
    assert_eq!(locked.status(), 429);
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let dashboard = reqwest::Client::builder()
        .local_address("127.0.0.9".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
        .get(format!("{base}/dashboard/data"))
        .header("Authorization", format!("Bearer {dashboard_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 429, "the lock-out covers every token");
    let elsewhere = post_from("127.0.0.10", &notices, &format!("BEARER {TOKEN}"), good).await;
    assert_eq!(elsewhere.status(), 202);

    let metrics = presence_tests::metrics::scrape(&base).await;
    let limited = |limit: &str| {
        presence_tests::metrics::sample(
            &metrics,
            &format!("presence_limited_total{{limit=\"{limit}\"}}"),
        )
    };
    assert_eq!(limited("notices_auth"), Some(10.0), "{metrics}");
    assert_eq!(limited("auth"), Some(2.0), "{metrics}");
}
