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
