//! 200 readers switching posts at random, in parallel, then all leaving: the store
//! must end empty, every pushed count must be plausible, and views exact.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

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
    for task in tasks {
        let (visited, history) = task.await.unwrap();
        for post in visited {
            *viewed_by.entry(post).or_default() += 1;
        }
        for (post, count) in history {
            assert!(
                (1..=READERS as u64).contains(&count),
                "post {post} was pushed an impossible count {count}"
            );
        }
    }

    let mut conn = redis.connection().await;
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
    server.shutdown().await;
}

/// One reader: switch to a random post, wait for the server's answer (its `views`
/// event, which is only ever sent as an answer), repeat; then leave.
async fn switch_at_random(url: &str, seed: u64) -> (HashSet<String>, Vec<(String, u64)>) {
    let reader = Reader::connect(url).await;
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut visited = HashSet::new();
    let deadline = tokio::time::Instant::now() + SWITCHING;
    while tokio::time::Instant::now() < deadline {
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
        visited.insert(post);
        tokio::time::sleep(Duration::from_millis(rng % 40)).await;
    }
    let history = reader.history();
    reader.leave().await;
    (visited, history)
}
