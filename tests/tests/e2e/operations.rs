//! Behaving like a daemon: systemd units and readiness, graceful shutdown, Redis
//! outages, metrics.

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use presence_tests::binaries::{binary, workspace_root};
use presence_tests::client::UPDATE_WAIT;
use presence_tests::metrics::{sample, scrape};
use presence_tests::{GcProcess, Reader, RedisServer, ServerProcess, eventually};
use redis::AsyncCommands;

use presence_tests::api;

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let dir = tempdir("units");
    for unit in ["presence-server.service", "presence-gc.service"] {
        let text =
            std::fs::read_to_string(workspace_root().join("deploy/systemd").join(unit)).unwrap();
        // verify insists that ExecStart exists: point it at the binaries we built.
        let bin_dir = binary("presence-server").parent().unwrap().to_path_buf();
        let text = text.replace("/usr/bin/", &format!("{}/", bin_dir.display()));
        std::fs::write(dir.join(unit), text).unwrap();
    }
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("presence-server.service"))
        .arg(dir.join("presence-gc.service"))
        .output()
        .expect("systemd-analyze must be installed (apt-get install systemd)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "{stderr}"
    );
}

#[tokio::test]
async fn ready_is_sent_only_once_the_store_answers() {
    let mut redis = RedisServer::start();
    redis.stop();
    let dir = tempdir("notify");
    let socket_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&socket_path).unwrap();
    notify.set_nonblocking(true).unwrap();
    let url = redis.url();
    let server = ServerProcess::start(&[
        ("PRESENCE_REDIS__URL", &url),
        ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
        ("WATCHDOG_USEC", "1000000"),
    ])
    .await;
    // The listener is bound (/healthz answered), but Redis is down: not ready.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let early = drain(&notify);
    assert!(
        !early.iter().any(|m| m.contains("READY=1")),
        "READY before the store answered: {early:?}"
    );

    redis.restart();
    let mut seen = Vec::new();
    eventually("READY=1 after Redis started", UPDATE_WAIT, async || {
        seen.extend(drain(&notify));
        seen.iter().any(|m| m.contains("READY=1")).then_some(())
    })
    .await;
    let ready = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "READY means it can serve");
    eventually("watchdog pings", UPDATE_WAIT, async || {
        seen.extend(drain(&notify));
        seen.iter().any(|m| m.contains("WATCHDOG=1")).then_some(())
    })
    .await;
}

fn drain(socket: &UnixDatagram) -> Vec<String> {
    let mut messages = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = socket.recv(&mut buffer) {
        messages.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
    }
    messages
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "presence-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn sigterm_removes_the_sessions_and_others_see_one_update() {
    let redis = RedisServer::start();
    let url = redis.url();
    let mut stopping = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let staying = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let _leaving = [
        Reader::viewing(&stopping.url(), "13").await,
        Reader::viewing(&stopping.url(), "13").await,
        Reader::viewing(&stopping.url(), "13").await,
    ];
    let watchers = [
        Reader::viewing(&staying.url(), "13").await,
        Reader::viewing(&staying.url(), "13").await,
    ];
    for watcher in &watchers {
        watcher.wait_for_count("13", 5).await;
    }
    let seen_before: Vec<usize> = watchers.iter().map(|w| w.history().len()).collect();

    assert_eq!(stopping.daemon.terminate(), Some(0), "a clean exit");
    // Gone from Redis by the time the process has exited.
    let mut conn = redis.connection().await;
    let sessions: usize = conn.hlen("viewers").await.unwrap();
    assert_eq!(sessions, 2, "only the staying server's readers are left");

    for (watcher, before) in watchers.iter().zip(seen_before) {
        watcher.wait_for_count("13", 2).await;
        // (A late push of the old 5 may still arrive first; it is not a change.)
        let changes: Vec<u64> = watcher.history()[before..]
            .iter()
            .map(|(_, n)| *n)
            .filter(|n| *n != 5)
            .collect();
        assert_eq!(
            changes,
            [2],
            "one update, straight to 2 (no countdown, no zero)"
        );
    }
}

#[tokio::test]
async fn a_redis_outage_under_traffic_heals_exactly() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let _gc = GcProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let mut server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let server_url = server.url();

    let mut readers = Vec::new();
    for i in 0..12 {
        readers.push((
            Reader::viewing(&server_url, format!("p{}", i % 3)).await,
            format!("p{}", i % 3),
        ));
    }
    readers[0].0.wait_for_count("p0", 4).await;

    redis.stop();
    // Traffic while Redis is down: leaves, joins, moves.
    for _ in 0..3 {
        let (reader, _) = readers.pop().unwrap();
        reader.leave().await;
    }
    for i in 0..3 {
        let reader = Reader::connect(&server_url).await;
        let post = format!("p{i}");
        reader.view(post.clone()).await;
        readers.push((reader, post));
    }
    for (reader, post) in readers.iter_mut().take(3) {
        *post = "moved".to_owned();
        reader.view("moved").await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(server.daemon.is_running(), "the server survived the outage");

    redis.restart(); // empty: everything it had is lost
    let mut expected: HashMap<String, u64> = HashMap::new();
    for (_, post) in &readers {
        *expected.entry(post.clone()).or_default() += 1;
    }
    let live = readers.len();
    let mut conn = redis.connection().await;
    eventually(
        "every live reader to be counted again, exactly once",
        Duration::from_secs(15),
        async || {
            let in_hash: usize = conn.hlen("viewers").await.ok()?;
            let mut counts = HashMap::new();
            for post in expected.keys() {
                let n: u64 = conn.scard(format!("viewers:{post}")).await.ok()?;
                counts.insert(post.clone(), n);
            }
            (in_hash == live && counts == expected).then_some(())
        },
    )
    .await;
    // No ghosts: nothing but the live readers' sets exist.
    let mut sets: Vec<String> = conn.keys("viewers:*").await.unwrap();
    sets.sort();
    let mut wanted: Vec<String> = expected.keys().map(|p| format!("viewers:{p}")).collect();
    wanted.sort();
    assert_eq!(sets, wanted);
    // And the readers hold the right counts again.
    for (reader, post) in &readers {
        reader.wait_for_count(post, expected[post]).await;
    }
    assert!(server.daemon.is_running());
}

#[tokio::test]
async fn metrics_are_exposed_and_move() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let metric = async |name: &str| -> f64 {
        let text = scrape(&server.url()).await;
        sample(&text, name).unwrap_or_else(|| panic!("{name} missing from\n{text}"))
    };
    for name in [
        "presence_connections",
        "presence_viewing_events_total",
        "presence_pushes_total",
        "presence_pushes_coalesced_total",
    ] {
        assert_eq!(metric(name).await, 0.0, "{name} starts at 0");
    }

    let first = Reader::viewing(&server.url(), "13").await;
    let second = Reader::viewing(&server.url(), "13").await;
    first.wait_for_count("13", 2).await;
    // Counted by the connect handler, which runs once the connection is acknowledged.
    eventually("both connections to be counted", UPDATE_WAIT, async || {
        (metric("presence_connections").await == 2.0).then_some(())
    })
    .await;
    assert_eq!(metric("presence_viewing_events_total").await, 2.0);
    eventually("a push to be counted", UPDATE_WAIT, async || {
        (metric("presence_pushes_total").await >= 1.0).then_some(())
    })
    .await;
    assert!(metric("presence_store_latency_seconds_count{operation=\"view\"}").await >= 2.0);

    redis.stop();
    second.view("7").await;
    second.wait_for_error().await;
    assert!(metric("presence_store_errors_total{operation=\"view\"}").await >= 1.0);
    second.leave().await;
    eventually("the connection gauge to drop", UPDATE_WAIT, async || {
        (metric("presence_connections").await == 1.0).then_some(())
    })
    .await;
    // A Socket.IO disconnect packet: the client left on purpose.
    assert_eq!(
        metric("presence_disconnects_total{reason=\"client_disconnect\"}").await,
        1.0
    );
}

#[tokio::test]
async fn a_large_room_is_pushed_once_per_interval() {
    // small_room = 1 makes a 2-reader room "large": its interval is
    // max_interval × 2/100 = 1.2 s, so joins inside it coalesce into one push.
    let server = ServerProcess::start(&[
        ("PRESENCE_FANOUT__SMALL_ROOM", "1"),
        ("PRESENCE_FANOUT__MAX_INTERVAL_MS", "60000"),
    ])
    .await;
    let watcher = Reader::viewing(&server.url(), "hot").await;
    let _second = Reader::viewing(&server.url(), "hot").await;
    watcher.wait_for_count("hot", 2).await;
    let before = watcher.history().len();
    let _third = Reader::viewing(&server.url(), "hot").await;
    let _fourth = Reader::viewing(&server.url(), "hot").await;
    watcher.wait_for_count("hot", 4).await;
    let pushed: Vec<u64> = watcher.history()[before..]
        .iter()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(pushed, [4], "two joins, one push");
    let text = scrape(&server.url()).await;
    assert!(
        sample(&text, "presence_pushes_coalesced_total") >= Some(1.0),
        "{text}"
    );
    assert_eq!(api(&server.url(), "/api/posts/hot").await["viewers"], 4);
}

#[tokio::test]
async fn json_logs_carry_node_session_and_post() {
    let server = ServerProcess::start(&[
        ("PRESENCE_LOG__FORMAT", "json"),
        ("PRESENCE_SERVER__NODE", "edge-7"),
        ("RUST_LOG", "info,presence_server=debug"),
    ])
    .await;
    let reader = Reader::viewing(&server.url(), "13").await;
    let viewing = eventually("a JSON log line for the viewing", UPDATE_WAIT, async || {
        server.daemon.output().into_iter().find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(&line).ok()?;
            (event["message"] == "viewing").then_some(event)
        })
    })
    .await;
    assert_eq!(viewing["post"], "13", "{viewing}");
    assert!(viewing["span"]["session"].is_string(), "{viewing}");
    assert_eq!(viewing["spans"][0]["node"], "edge-7", "{viewing}");
    for line in server.daemon.output() {
        assert!(
            serde_json::from_str::<serde_json::Value>(&line).is_ok(),
            "not JSON: {line}"
        );
    }
    reader.leave().await;
}

#[tokio::test]
async fn the_first_viewing_after_an_idle_redis_restart_is_answered() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &url)]).await;
    let first = Reader::viewing(&server.url(), "13").await;
    first.wait_for_count("13", 1).await;
    // The view used the server's shared connection, which now goes stale: Redis
    // goes away and comes back while nothing is asked of it (no reader is left
    // whose count the server would read again when its subscription comes back).
    first.leave().await;
    eventually("the reader to leave", UPDATE_WAIT, async || {
        let body = api(&server.url(), "/api/posts/13").await;
        (body["viewers"] == 0).then_some(())
    })
    .await;
    redis.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let reader = Reader::connect(&server.url()).await;
    reader.view("7").await;
    reader.wait_for_count("7", 1).await;
    assert!(reader.errors().is_empty(), "{:?}", reader.errors());
    let metrics = scrape(&server.url()).await;
    assert_eq!(
        sample(&metrics, "presence_store_errors_total{operation=\"view\"}"),
        None,
        "{metrics}"
    );
}
