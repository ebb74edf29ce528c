//! Both binaries on a Redis that wants a password, an ACL user, or TLS.

use std::time::Duration;

use presence_tests::{GcProcess, Reader, RedisServer, ServerProcess, eventually};

use presence_tests::api;

/// The ACL rule docs/security.md gives operators, word for word.
const ACL_RULE: &str = "on >presence-pw ~* &* +@connection +evalsha +eval +script|load \
    +hget +hset +hdel +hlen +sadd +srem +scard +set +get +del +incr +expire +exists \
    +zadd +zrem +zscore +zrange +zcard +zcount +zremrangebyscore +zscan +time \
    +publish +subscribe +scan +sscan +hscan +config|get +config|set";

async fn serve_and_count(url: &str, extra: &[(&str, &str)]) {
    let mut settings = vec![("PRESENCE_REDIS__URL", url)];
    settings.extend_from_slice(extra);
    // gc serves metrics only after it proved expiry events arrive: a full round
    // trip of CONFIG, SET, GET and SUBSCRIBE as this user. Its first sweep (SCAN,
    // HSCAN, ZSCAN and the index repair) runs at start.
    let gc = GcProcess::start(&settings).await;
    eventually("gc's first sweep", Duration::from_secs(10), async || {
        gc.metric("presence_gc_sweeps_total")
            .await
            .filter(|sweeps| *sweeps >= 1.0)
    })
    .await;
    settings.extend_from_slice(&[
        ("PRESENCE_DASHBOARD__TOKEN", DASHBOARD_TOKEN),
        ("PRESENCE_DASHBOARD__HISTORY_STEP_SECS", "1"),
    ]);
    let server = ServerProcess::start(&settings).await;
    let one = Reader::viewing(&server.url(), "13").await;
    let two = Reader::viewing(&server.url(), "13").await;
    one.wait_for_count("13", 2).await;
    two.leave().await;
    one.wait_for_count("13", 1).await;
    let ready = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(api(&server.url(), "/api/posts/13").await["views"], 2);
    assert_eq!(
        api(&server.url(), "/api/top").await["posts"][0]["viewers"],
        1
    );
    assert_eq!(api(&server.url(), "/api/stats").await["viewers"], 1);
    let client = reqwest::Client::new();
    let dashboard = format!("{}/dashboard/data", server.url());
    eventually("a history sample", Duration::from_secs(10), async || {
        let data: serde_json::Value = client
            .get(&dashboard)
            .bearer_auth(DASHBOARD_TOKEN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (!data["history"].as_array()?.is_empty()).then_some(())
    })
    .await;
}

const DASHBOARD_TOKEN: &str = "redis-auth-dashboard";

#[tokio::test]
async fn a_password_protected_redis() {
    let redis = RedisServer::start_with(&["--requirepass", "s3cret-pw"]);
    let url = format!("redis://:s3cret-pw@127.0.0.1:{}/0", redis.port());
    serve_and_count(&url, &[]).await;
}

#[tokio::test]
async fn an_acl_user_with_only_the_documented_commands() {
    let docs = include_str!("../../../docs/security.md");
    for word in ACL_RULE.split_whitespace().filter(|w| w.starts_with('+')) {
        assert!(docs.contains(word), "docs/security.md must list {word}");
    }
    let acl_file = std::env::temp_dir().join(format!("presence-acl-{}.acl", std::process::id()));
    std::fs::write(
        &acl_file,
        format!("user default off\nuser presence {ACL_RULE}\n"),
    )
    .unwrap();
    let redis = RedisServer::start_with(&["--aclfile", acl_file.to_str().unwrap()]);
    let url = format!("redis://presence:presence-pw@127.0.0.1:{}/0", redis.port());
    serve_and_count(&url, &[]).await;
}

#[tokio::test]
async fn a_tls_redis() {
    let redis = RedisServer::start_tls();
    let ca = redis.ca_file();
    serve_and_count(&redis.url(), &[("SSL_CERT_FILE", ca.to_str().unwrap())]).await;
}
