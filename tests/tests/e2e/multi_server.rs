//! Several presence-server processes and one gc on one Redis: every reader sees
//! every change, wherever it happened.

use std::time::{Duration, Instant};

use presence_tests::{GcProcess, Reader, RedisServer, ServerProcess, eventually};
use redis::AsyncCommands;

use presence_tests::api;

#[tokio::test]
async fn readers_on_two_servers_see_every_join_and_leave() {
    let redis = RedisServer::start();
    let url = redis.url();
    let _gc = GcProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let a = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let b = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;

    let mut readers = vec![
        Reader::viewing(&a.url(), "13").await,
        Reader::viewing(&b.url(), "13").await,
        Reader::viewing(&a.url(), "13").await,
        Reader::viewing(&b.url(), "13").await,
    ];
    for reader in &readers {
        reader.wait_for_count("13", 4).await;
    }

    // A join on B reaches the readers on A, and a leave on A reaches B.
    let started = Instant::now();
    readers.push(Reader::viewing(&b.url(), "13").await);
    for reader in &readers {
        reader.wait_for_count("13", 5).await;
    }
    let join_seen = started.elapsed();

    let started = Instant::now();
    readers.remove(0).leave().await;
    for reader in &readers {
        reader.wait_for_count("13", 4).await;
    }
    let leave_seen = started.elapsed();
    println!("join seen everywhere after {join_seen:?}, leave after {leave_seen:?}");

    // A move on A updates the readers of both posts on B.
    let mover = readers.remove(0);
    let on_b = Reader::viewing(&b.url(), "7").await;
    mover.view("7").await;
    on_b.wait_for_count("7", 2).await;
    for reader in &readers {
        reader.wait_for_count("13", 3).await;
    }
    for server in [&a, &b] {
        let both = api(&server.url(), "/api/posts?ids=13,7").await;
        assert_eq!(both["posts"][0]["viewers"], 3);
        assert_eq!(both["posts"][1]["viewers"], 2);
    }
}

#[tokio::test]
async fn readers_of_a_killed_server_vanish_within_the_ttl() {
    let redis = RedisServer::start();
    let url = redis.url();
    let ttl = 3;
    let settings = [
        ("PRESENCE_REDIS__URL", url.as_str()),
        ("PRESENCE_SESSION__TTL_SECS", "3"),
    ];
    let _gc = GcProcess::start(&settings).await;
    let mut doomed = ServerProcess::start(&settings).await;
    let survivor = ServerProcess::start(&settings).await;

    let _lost = [
        Reader::viewing(&doomed.url(), "13").await,
        Reader::viewing(&doomed.url(), "13").await,
    ];
    let watcher = Reader::viewing(&survivor.url(), "13").await;
    watcher.wait_for_count("13", 3).await;

    // Keep-alive must hold the live sessions past several TTLs.
    tokio::time::sleep(Duration::from_secs(ttl * 2)).await;
    assert_eq!(
        watcher.count("13"),
        Some(3),
        "live sessions must not expire"
    );

    let killed_at = Instant::now();
    doomed.daemon.kill();
    // The bound: one TTL for the keys, plus Redis's expiry cycle and gc's reap.
    let bound = Duration::from_secs(ttl + 10);
    eventually(
        "the watcher to see the dead server's readers go",
        bound,
        async || (watcher.count("13") == Some(1)).then_some(()),
    )
    .await;
    println!("dead server's readers gone after {:?}", killed_at.elapsed());
    let mut conn = redis.connection().await;
    let sessions: usize = conn.hlen("viewers").await.unwrap();
    assert_eq!(sessions, 1, "only the watcher is left in the hash");
}
