//! 200 readers switching posts at random, in parallel, then all leaving: the store
//! must end empty, every pushed count must be plausible, and views exact. The
//! site-wide figures (`/api/top`, `/api/stats`, the index behind them) must match
//! where the readers ended, and be empty once they left.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use presence_tests::binaries::http_get;
use presence_tests::client::UPDATE_WAIT;
use presence_tests::server::test_config;
use presence_tests::{Reader, RedisServer, eventually, spawn_server};
use redis::AsyncCommands;

const READERS: usize = 200;
const POSTS: u64 = 10;
const SWITCHING: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_switching_in_parallel_leave_nothing_behind() {
    let redis = RedisServer::start();
    // Real readers switch far less often; this test is about races, not limits.
    let mut config = test_config(Some(&redis.url()));
    config.security.viewing_per_second = 1000;
    config.security.max_connections_per_ip = 1000;
    let server = spawn_server(config).await;
    let url = server.url();

    let mut tasks = Vec::new();
    for seed in 0..READERS as u64 {
        let url = url.clone();
        tasks.push(tokio::spawn(
            async move { switch_at_random(&url, seed).await },
        ));
    }
    let mut viewed_by: HashMap<String, usize> = HashMap::new();
    let mut ended_on: HashMap<String, u64> = HashMap::new();
    let mut readers = Vec::new();
    for task in tasks {
        let Switched {
            reader,
            last,
            visited,
            history,
        } = task.await.unwrap();
        for post in visited {
            *viewed_by.entry(post).or_default() += 1;
        }
        for (post, count) in history {
            assert!(
                (1..=READERS as u64).contains(&count),
                "post {post} was pushed an impossible count {count}"
            );
        }
        *ended_on.entry(last).or_default() += 1;
        readers.push(reader);
    }

    let mut conn = redis.connection().await;
    // Everyone is on their last post (answered), so the figures are settled.
    let mut expected_top: Vec<(String, u64)> = ended_on.clone().into_iter().collect();
    expected_top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    assert_eq!(top(&url).await, expected_top, "/api/top after switching");
    assert_eq!(stats(&url).await, (READERS as u64, ended_on.len() as u64));
    for post in 1..=POSTS {
        let post = post.to_string();
        let readers: u64 = conn.scard(format!("viewers:{post}")).await.unwrap();
        let score: Option<u64> = conn.zscore("presence:top", &post).await.unwrap();
        assert_eq!(readers, ended_on.get(&post).copied().unwrap_or(0));
        assert_eq!(
            score,
            (readers > 0).then_some(readers),
            "index score of {post}"
        );
    }

    for reader in readers {
        reader.leave().await;
    }
    eventually("the hash to empty", UPDATE_WAIT, async || {
        let len: usize = conn.hlen("viewers").await.unwrap();
        (len == 0).then_some(())
    })
    .await;
    let sets: Vec<String> = conn.keys("viewers:*").await.unwrap();
    assert!(sets.is_empty(), "reader sets left behind: {sets:?}");
    let sessions: Vec<String> = conn.keys("session:*").await.unwrap();
    assert!(
        sessions.is_empty(),
        "session keys left behind: {}",
        sessions.len()
    );

    // A view counts once per session per post: exactly the distinct readers.
    for post in 1..=POSTS {
        let post = post.to_string();
        let views: Option<u64> = conn.get(format!("views:{post}")).await.unwrap();
        let expected = viewed_by.get(&post).copied().unwrap_or(0) as u64;
        assert_eq!(views.unwrap_or(0), expected, "views of post {post}");
    }
    let index: usize = conn.zcard("presence:top").await.unwrap();
    assert_eq!(index, 0, "the index must empty with the sets");
    assert_eq!(top(&url).await, Vec::new());
    assert_eq!(stats(&url).await, (0, 0));
    server.shutdown().await;
}

/// `/api/top?limit=100` as (post, readers), most read first.
async fn top(url: &str) -> Vec<(String, u64)> {
    let (status, body) = http_get(&format!("{url}/api/top?limit=100")).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["post_id"].as_str().unwrap().to_owned(),
                p["viewers"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `/api/stats` as (readers, posts being read).
async fn stats(url: &str) -> (u64, u64) {
    let (status, body) = http_get(&format!("{url}/api/stats")).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        body["viewers"].as_u64().unwrap(),
        body["posts"].as_u64().unwrap(),
    )
}

/// A reader after its switching: still connected, on `last`.
struct Switched {
    reader: Reader,
    last: String,
    visited: HashSet<String>,
    history: Vec<(String, u64)>,
}

/// One reader: switch to a random post, wait for the server's answer (its `views`
/// event, which is only ever sent as an answer), repeat; stay on the last one.
async fn switch_at_random(url: &str, seed: u64) -> Switched {
    let reader = Reader::connect(url).await;
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut visited = HashSet::new();
    let mut last = String::new();
    let deadline = tokio::time::Instant::now() + SWITCHING;
    while last.is_empty() || tokio::time::Instant::now() < deadline {
        // xorshift: a cheap, seeded, reproducible sequence per reader.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let post = (rng % POSTS + 1).to_string();
        let before = reader.answers();
        reader.view(post.clone()).await;
        // (Not `eventually`: its async closure is not `Send` inside a spawned task.)
        let asked = tokio::time::Instant::now();
        while reader.answers() == before {
            assert!(asked.elapsed() < UPDATE_WAIT, "no answer to viewing {post}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        visited.insert(post.clone());
        last = post;
        tokio::time::sleep(Duration::from_millis(rng % 40)).await;
    }
    let history = reader.history();
    Switched {
        reader,
        last,
        visited,
        history,
    }
}
