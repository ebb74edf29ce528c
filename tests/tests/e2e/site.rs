//! Beyond one post: watching posts without being counted, the site-wide figures
//! (`/api/top`, `/api/stats`), a post's count as Server-Sent Events, and the
//! editors' dashboard (auth here; in Chromium in `dashboard_browser.rs`).

use futures_util::StreamExt;
use presence_tests::binaries::http_get;
use presence_tests::client::UPDATE_WAIT;
use presence_tests::{Reader, RedisServer, ServerProcess, eventually};
use serde_json::{Value, json};

/// A watcher of 20 posts on one server gets the counts of readers on another, as
/// they change, and is itself counted nowhere.
#[tokio::test]
async fn a_watcher_of_twenty_posts_follows_them_and_changes_no_count() {
    let redis = RedisServer::start();
    let url = redis.url();
    let reading = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let watching = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let posts: Vec<String> = (101..=120).map(|n| n.to_string()).collect();
    let names: Vec<&str> = posts.iter().map(String::as_str).collect();

    let watcher = Reader::connect(&watching.url()).await;
    watcher.watch(&names).await;
    for post in &names {
        watcher.wait_for_count(post, 0).await;
    }

    // Readers come to a few of the posts, on the other server.
    let first = Reader::viewing(&reading.url(), "101").await;
    let second = Reader::viewing(&reading.url(), "101").await;
    let third = Reader::viewing(&reading.url(), 120).await;
    watcher.wait_for_count("101", 2).await;
    watcher.wait_for_count("120", 1).await;
    assert_eq!(
        counts(&reading.url(), &names).await,
        expected(&[("101", 2), ("120", 1)])
    );

    // One moves, one leaves: the watcher follows.
    second.view("110").await;
    third.leave().await;
    watcher.wait_for_count("101", 1).await;
    watcher.wait_for_count("110", 1).await;
    watcher.wait_for_count("120", 0).await;
    assert_eq!(
        counts(&reading.url(), &names).await,
        expected(&[("101", 1), ("110", 1)])
    );
    assert_eq!(
        site_stats(&watching.url()).await,
        (2, 2),
        "the watcher is no reader"
    );
    assert!(watcher.errors().is_empty(), "{:?}", watcher.errors());
    assert_eq!(watcher.answers(), 0, "a watcher is never sent views");

    // A new list replaces the old one (its answer for the new post 130 shows it
    // took effect); an empty one stops watching.
    watcher.watch(&["110", "130"]).await;
    watcher.wait_for_count("130", 0).await;
    first.leave().await;
    second.view("101").await;
    watcher.wait_for_count("110", 0).await;
    watcher.watch(&[]).await;
    second.leave().await;
    assert_eq!(site_stats(&reading.url()).await, (0, 0));
    assert_eq!(
        watcher.count("101"),
        Some(1),
        "101 was no longer watched when its reader came back"
    );
}

/// Bad watch lists are refused whole with a reason, change nothing, and leave the
/// previous list in force.
#[tokio::test]
async fn bad_watch_lists_are_refused_and_the_old_list_kept() {
    let server = ServerProcess::start(&[("PRESENCE_SECURITY__MAX_WATCH_POSTS", "3")]).await;
    let watcher = Reader::connect(&server.url()).await;
    watcher.watch(&["7"]).await;
    watcher.wait_for_count("7", 0).await;

    let bad: [(Value, &str); 6] = [
        (json!("7"), "bad_watch"),
        (json!({"posts": [7]}), "bad_watch"),
        (json!([1, 2, 3, 4]), "too_many_watched"),
        (json!([1, "no spaces"]), "bad_watch"),
        (json!([1, "x".repeat(65)]), "bad_watch"),
        (json!([1, -5]), "bad_watch"),
    ];
    for (i, (payload, code)) in bad.iter().enumerate() {
        watcher.emit_raw("watch", vec![payload.clone()]).await;
        eventually(&format!("error #{}", i + 1), UPDATE_WAIT, async || {
            (watcher.errors().len() == i + 1).then_some(())
        })
        .await;
        assert_eq!(watcher.errors()[i]["error"], *code, "for {payload}");
    }
    watcher.emit_raw("watch", vec![]).await;
    eventually("an error for a missing list", UPDATE_WAIT, async || {
        (watcher.errors().len() == bad.len() + 1).then_some(())
    })
    .await;
    assert_eq!(
        watcher.count("1"),
        None,
        "nothing of a refused list was watched"
    );

    let reader = Reader::viewing(&server.url(), "7").await;
    watcher.wait_for_count("7", 1).await;
    assert_eq!(site_stats(&server.url()).await, (1, 1));
    reader.leave().await;
    watcher.wait_for_count("7", 0).await;
}

/// `GET /api/posts/{id}/events`, read with a plain HTTP client: the count now,
/// then each change: 1 → 2 → 1.
#[tokio::test]
async fn a_post_s_count_streams_as_server_sent_events() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &redis.url())]).await;
    let first = Reader::viewing(&server.url(), "13").await;

    let response = reqwest::get(format!("{}/api/posts/13/events", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut events = SseReader::new(response);
    assert_eq!(events.next_count().await, 1);

    let second = Reader::viewing(&server.url(), "13").await;
    assert_eq!(events.next_count().await, 2);
    second.leave().await;
    assert_eq!(events.next_count().await, 1);
    first.leave().await;
    assert_eq!(events.next_count().await, 0);
    assert_eq!(
        events.seen,
        [1, 2, 1, 0],
        "each change once, nothing in between"
    );

    let (status, body) = http_get(&format!("{}/api/posts/no%20way/events", server.url()))
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
}

/// Event streams hold one of their address's connection slots, like sockets:
/// directly, through their connection's lease; behind a trusted proxy, with a lease
/// of their own for the forwarded client.
#[tokio::test]
async fn event_streams_count_against_the_connection_cap() {
    let server = ServerProcess::start(&[("PRESENCE_SECURITY__MAX_CONNECTIONS_PER_IP", "2")]).await;
    let url = format!("{}/api/posts/13/events", server.url());
    let first = reqwest::get(&url).await.unwrap();
    let second = reqwest::get(&url).await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    // The third connection is answered 429 and closed as soon as it is accepted.
    let third = reqwest::get(&url).await;
    assert!(
        third.as_ref().is_err() || third.as_ref().is_ok_and(|r| r.status() == 429),
        "{third:?}"
    );
    drop(first);
    eventually("the slot to be given back", UPDATE_WAIT, async || {
        let again = reqwest::get(&url).await.ok()?;
        (again.status() == 200).then_some(())
    })
    .await;
    drop(second);

    // Behind a trusted proxy, each forwarded client has its own budget.
    let proxied = ServerProcess::start(&[
        ("PRESENCE_SECURITY__MAX_CONNECTIONS_PER_IP", "2"),
        ("PRESENCE_SECURITY__TRUSTED_PROXIES", r#"["127.0.0.1"]"#),
    ])
    .await;
    let url = format!("{}/api/posts/13/events", proxied.url());
    let from = |client: &str| {
        reqwest::Client::new()
            .get(&url)
            .header("X-Forwarded-For", client)
            .send()
    };
    let _a = [
        from("203.0.113.1").await.unwrap(),
        from("203.0.113.1").await.unwrap(),
    ];
    assert_eq!(from("203.0.113.1").await.unwrap().status(), 429);
    assert_eq!(from("203.0.113.2").await.unwrap().status(), 200);
}

#[tokio::test]
async fn top_and_stats_answer_bad_requests_clearly() {
    let server = ServerProcess::start(&[]).await;
    for limit in ["0", "101", "ten", "-1", ""] {
        let (status, body) = http_get(&format!("{}/api/top?limit={limit}", server.url()))
            .await
            .unwrap();
        assert_eq!(status, 400, "limit={limit}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "invalid_limit");
    }
    let _readers = [
        Reader::viewing(&server.url(), "5").await,
        Reader::viewing(&server.url(), "5").await,
        Reader::viewing(&server.url(), "6").await,
    ];
    let (status, body) = http_get(&format!("{}/api/top?limit=1", server.url()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, json!({"posts": [{"post_id": "5", "viewers": 2}]}));
    assert_eq!(site_stats(&server.url()).await, (3, 2));

    // Every page with a popular list polls these: a CDN in front may share one
    // answer a second among all of them, but a browser must ask each time.
    for path in ["/api/top", "/api/stats"] {
        let response = reqwest::get(format!("{}{path}", server.url()))
            .await
            .unwrap();
        assert_eq!(
            response.headers()[reqwest::header::CACHE_CONTROL],
            "public, max-age=0, s-maxage=1",
            "{path}"
        );
    }
}

/// Off without a token (404); with one, a basic-auth challenge (401) until the
/// password or the bearer token is right.
#[tokio::test]
async fn the_dashboard_is_off_by_default_and_behind_its_token() {
    let off = ServerProcess::start(&[]).await;
    for path in ["/dashboard", "/dashboard/data"] {
        let (status, _) = http_get(&format!("{}{path}", off.url())).await.unwrap();
        assert_eq!(status, 404, "{path} without dashboard.token");
    }

    const TOKEN: &str = "a-long-dashboard-secret";
    let server = ServerProcess::start(&[("PRESENCE_DASHBOARD__TOKEN", TOKEN)]).await;
    let client = reqwest::Client::new();
    let page = format!("{}/dashboard", server.url());
    let refused = client.get(&page).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let wrong = client
        .get(&page)
        .basic_auth("editor", Some("not-it"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let by_password = client
        .get(&page)
        .basic_auth("editor", Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(by_password.status(), 200);
    assert!(by_password.text().await.unwrap().contains("Reading now"));

    let _reader = Reader::viewing(&server.url(), "42").await;
    let data: Value = client
        .get(format!("{page}/data"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(data["viewers"], 1);
    assert_eq!(data["top"], json!([{"post_id": "42", "viewers": 1}]));
    assert!(data["history"].is_array());
}

/// Reads `data:` lines of `viewers` events off an SSE response.
struct SseReader {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
    seen: Vec<u64>,
}

impl SseReader {
    fn new(response: reqwest::Response) -> Self {
        Self {
            body: response
                .bytes_stream()
                .map(|chunk| chunk.map(|bytes| bytes.to_vec()))
                .boxed(),
            buffer: String::new(),
            seen: Vec::new(),
        }
    }

    async fn next_count(&mut self) -> u64 {
        let wait = tokio::time::timeout(UPDATE_WAIT, async {
            loop {
                // Events end with a blank line.
                if let Some(end) = self.buffer.find("\n\n") {
                    let event: String = self.buffer.drain(..end + 2).collect();
                    let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) else {
                        continue; // a keep-alive comment
                    };
                    let data: Value = serde_json::from_str(data).unwrap();
                    assert_eq!(data["post_id"], "13");
                    return data["viewers"].as_u64().unwrap();
                }
                let chunk = self.body.next().await.expect("stream ended").unwrap();
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        });
        let count = wait.await.expect("no event in time");
        self.seen.push(count);
        count
    }
}

async fn counts(url: &str, posts: &[&str]) -> Vec<(String, u64)> {
    let (_, body) = http_get(&format!("{url}/api/posts?ids={}", posts.join(",")))
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["viewers"] != 0)
        .map(|p| {
            (
                p["post_id"].as_str().unwrap().to_owned(),
                p["viewers"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn expected(nonzero: &[(&str, u64)]) -> Vec<(String, u64)> {
    nonzero.iter().map(|(p, n)| (p.to_string(), *n)).collect()
}

async fn site_stats(url: &str) -> (u64, u64) {
    let (_, body) = http_get(&format!("{url}/api/stats")).await.unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    (
        body["viewers"].as_u64().unwrap(),
        body["posts"].as_u64().unwrap(),
    )
}
