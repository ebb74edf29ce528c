//! One address must not be able to take the server down: handshake floods,
//! slowloris, silent connections and namespace-less sessions stop at the address's
//! budget or a timeout; at the open-file limit the health checks still answer;
//! per-post state follows what is live. Real server processes, raw sockets from
//! loopback addresses of their own, every loop bounded in count and time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use presence_tests::binaries::http_get;
use presence_tests::metrics::{sample, scrape};
use presence_tests::{Reader, RedisServer, ServerProcess, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use presence_tests::api;

/// A TCP connection to `server` from the loopback address `from`.
async fn connect_from(from: &str, server: &ServerProcess) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], server.port)))
        .await
}

/// Whether the server closed `stream` (EOF or reset) within `within`; whatever it
/// wrote before closing is skipped.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let read_until_closed = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_until_closed)
        .await
        .is_ok()
}

/// The server's resident memory, in KiB.
fn rss_kib(server: &ServerProcess) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.daemon.pid()))
        .expect("the server's /proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

async fn count_of(server: &ServerProcess, post: &str) -> u64 {
    api(&server.url(), &format!("/api/posts/{post}")).await["viewers"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_handshake_flood_stays_within_its_address_budget() {
    const HANDSHAKES: usize = 20_000;
    // Without the budget, each namespace-less session held ~10 KB until the connect
    // timeout: 20,000 of them ~200 MB.
    const RSS_BOUND_KIB: u64 = 48 * 1024;
    let server = ServerProcess::start(&[("PRESENCE_SERVER__CONNECT_TIMEOUT_SECS", "2")]).await;
    let reader = Reader::viewing(&server.url(), "13").await;
    reader.wait_for_count("13", 1).await;
    let before = rss_kib(&server);

    let flooder = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .pool_max_idle_per_host(5)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let handshake = format!("{}/socket.io/?EIO=4&transport=polling", server.url());
    let flood = futures_util::stream::iter(0..HANDSHAKES)
        .map(|_| {
            let request = flooder.get(&handshake).send();
            async move {
                request
                    .await
                    .map(|response| response.status().as_u16())
                    .ok()
            }
        })
        .buffer_unordered(5)
        .collect::<Vec<_>>();
    let (statuses, peak) = {
        let mut flood = std::pin::pin!(tokio::time::timeout(Duration::from_secs(120), flood));
        let mut peak = before;
        let mut checks = 0;
        loop {
            tokio::select! {
                statuses = &mut flood => break (statuses.expect("the flood to end within 2 min"), peak),
                () = tokio::time::sleep(Duration::from_millis(250)) => {
                    peak = peak.max(rss_kib(&server));
                    // The legitimate reader, on another address, is counted throughout.
                    assert_eq!(count_of(&server, "13").await, 1);
                    checks += 1;
                }
            }
            assert!(checks < 1000);
        }
    };
    let accepted = statuses.iter().filter(|s| **s == Some(200)).count();
    let refused = statuses.iter().filter(|s| **s == Some(429)).count();
    println!(
        "handshakes: {accepted} accepted, {refused} refused, {} failed; RSS {before} → peak {peak} KiB",
        HANDSHAKES - accepted - refused
    );
    assert!(accepted >= 1, "a handshake within the budget is served");
    assert!(refused > HANDSHAKES / 2, "most of the flood is refused");
    assert!(
        peak.saturating_sub(before) < RSS_BOUND_KIB,
        "RSS grew {} KiB (bound {RSS_BOUND_KIB} KiB)",
        peak - before
    );
    assert_eq!(reader.count("13"), Some(1));
    let metrics = scrape(&server.url()).await;
    assert!(
        sample(
            &metrics,
            "presence_limited_total{limit=\"connections_per_ip\"}"
        )
        .is_some_and(|n| n >= refused as f64),
        "{metrics}"
    );
    // Sessions that never joined are closed after the connect timeout: the
    // address gets its budget back.
    eventually(
        "the flooding address to be served again",
        Duration::from_secs(20),
        async || {
            let status = flooder.get(&handshake).send().await.ok()?.status();
            (status == 200).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_slowloris_is_cut_off_and_others_are_served() {
    let server = ServerProcess::start(&[("PRESENCE_SERVER__HEADER_TIMEOUT_SECS", "2")]).await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = connect_from("127.0.0.3", &server).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: presence\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    // One more header line a second: a complete head would take a minute.
    let mut cut_off = 0;
    for second in 0..60 {
        for stream in &mut slow {
            let line = format!("X-Slow-{second}: {}\r\n", "a".repeat(10));
            if stream.write_all(line.as_bytes()).await.is_err() {
                continue;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        cut_off = 0;
        for stream in &mut slow {
            if closed_by_server(stream, Duration::from_millis(10)).await {
                cut_off += 1;
            }
        }
        if cut_off == slow.len() {
            println!(
                "all {cut_off} slow requests were cut off after {} s",
                second + 1
            );
            break;
        }
    }
    assert_eq!(
        cut_off,
        slow.len(),
        "slow requests still open after a minute"
    );
    // Others were served meanwhile, and still are.
    let (status, _) = http_get(&format!("{}/healthz", server.url()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let reader = Reader::viewing(&server.url(), "13").await;
    reader.wait_for_count("13", 1).await;
}

#[tokio::test]
async fn connections_that_never_speak_are_closed() {
    let server = ServerProcess::start(&[("PRESENCE_SERVER__HEADER_TIMEOUT_SECS", "2")]).await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(connect_from("127.0.0.4", &server).await.unwrap());
    }
    for stream in &mut silent {
        assert!(
            closed_by_server(stream, Duration::from_secs(30)).await,
            "a silent connection is still open after 30 s"
        );
    }
}

#[tokio::test]
async fn websocket_sessions_without_a_namespace_count_against_the_budget() {
    let server = ServerProcess::start(&[
        ("PRESENCE_SECURITY__MAX_CONNECTIONS_PER_IP", "5"),
        ("PRESENCE_SERVER__CONNECT_TIMEOUT_SECS", "2"),
    ])
    .await;
    let handshake = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: presence\r\n\
        Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let mut sessions = Vec::new();
    for _ in 0..5 {
        let mut stream = connect_from("127.0.0.5", &server).await.unwrap();
        stream.write_all(handshake).await.unwrap();
        let mut answer = [0u8; 12];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 101");
        sessions.push(stream);
    }
    // The sixth is refused as soon as it is accepted.
    let mut sixth = connect_from("127.0.0.5", &server).await.unwrap();
    let mut refusal = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), sixth.read_to_string(&mut refusal)).await;
    assert!(refusal.starts_with("HTTP/1.1 429"), "{refusal:?}");
    // Another address is not affected.
    let reader = Reader::viewing(&server.url(), "13").await;
    reader.wait_for_count("13", 1).await;
    // Sessions that never join the namespace are closed after the connect timeout.
    for stream in &mut sessions {
        assert!(
            closed_by_server(stream, Duration::from_secs(30)).await,
            "a session without a namespace is still open after 30 s"
        );
    }
    eventually(
        "the address to get its budget back",
        Duration::from_secs(10),
        async || {
            let mut stream = connect_from("127.0.0.5", &server).await.ok()?;
            stream.write_all(handshake).await.ok()?;
            let mut answer = [0u8; 12];
            stream.read_exact(&mut answer).await.ok()?;
            (&answer == b"HTTP/1.1 101").then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_open_file_limit_health_checks_still_answer() {
    const LIMIT: usize = 256;
    // Sessions that never join the namespace must outlive the test here.
    let server = ServerProcess::start(&[
        ("PRESENCE_SECURITY__MAX_CONNECTIONS_PER_IP", "10000"),
        ("PRESENCE_SERVER__CONNECT_TIMEOUT_SECS", "300"),
    ])
    .await;
    let status = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &server.daemon.pid().to_string(),
            &format!("--nofile={LIMIT}:{LIMIT}"),
        ])
        .status()
        .expect("prlimit (util-linux) must be installed");
    assert!(status.success());
    // The server takes the new limit within a second.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Fill the process's file table with connections that hold a websocket each.
    let handshake = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: presence\r\n\
        Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let mut fillers = Vec::new();
    let mut refused = 0;
    for _ in 0..LIMIT + 50 {
        let Ok(mut stream) = connect_from("127.0.0.6", &server).await else {
            refused += 1;
            continue;
        };
        let _ = stream.write_all(handshake).await;
        let mut answer = [0u8; 12];
        match tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer)).await {
            Ok(Ok(_)) if &answer == b"HTTP/1.1 101" => fillers.push(stream),
            _ => refused += 1,
        }
        if refused == 5 {
            break;
        }
    }
    println!("{} connections held, {refused} refused", fillers.len());
    assert!(refused > 0, "the limit was never reached");
    assert!(fillers.len() < LIMIT);

    // Full: health checks and metrics are still served.
    let (status, _) = http_get(&format!("{}/healthz", server.url()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    // The ratio is taken again every second.
    let metrics = eventually(
        "presence_open_files_ratio to show the table full",
        Duration::from_secs(10),
        async || {
            let metrics = scrape(&server.url()).await;
            let used = sample(&metrics, "presence_open_files_ratio")?;
            (used > 0.8).then_some(metrics)
        },
    )
    .await;
    assert!(
        sample(&metrics, "presence_limited_total{limit=\"open_files\"}").is_some(),
        "{metrics}"
    );
    // Ordinary requests are refused quickly, not left hanging.
    let (status, body) = http_get(&format!("{}/api/posts/13", server.url()))
        .await
        .unwrap();
    assert_eq!(status, 503, "{body}");

    // Once the connections close, the server serves everyone again.
    drop(fillers);
    let reader = eventually(
        "a reader to be served again",
        Duration::from_secs(20),
        async || Reader::try_connect(&server.url(), &[]).await.ok(),
    )
    .await;
    reader.view("13").await;
    reader.wait_for_count("13", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_and_stream_churn_over_fresh_ids_leaves_no_per_post_state() {
    let redis = RedisServer::start();
    for store in [None, Some(redis.url())] {
        let mut settings = vec![
            ("PRESENCE_SECURITY__VIEWING_PER_SECOND", "1000".to_owned()),
            ("PRESENCE_SECURITY__MAX_POSTS_PER_SOCKET", "1000".to_owned()),
        ];
        if let Some(url) = &store {
            settings.push(("PRESENCE_REDIS__URL", url.clone()));
        }
        let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let server = ServerProcess::start(&settings).await;
        let url = server.url();
        let watcher = Reader::connect(&url).await;
        let reader = Reader::connect(&url).await;
        let http = reqwest::Client::new();
        for round in 0..300 {
            let ids: Vec<String> = (0..10).map(|i| format!("fresh-{round}-{i}")).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            watcher.watch(&ids).await;
            reader.view(format!("read-{round}")).await;
            if round % 10 == 0 {
                // An event stream opened on a fresh id and dropped after its first event.
                let response = http
                    .get(format!("{url}/api/posts/stream-{round}/events"))
                    .send()
                    .await
                    .unwrap();
                let mut body = response.bytes_stream();
                let _first = tokio::time::timeout(Duration::from_secs(5), body.next()).await;
            }
        }
        let last = "read-299";
        reader.wait_for_count(last, 1).await;
        // While they live, the last posts are state; once they are gone, nothing is.
        eventually(
            "the live posts to be tracked",
            Duration::from_secs(15),
            async || {
                let metrics = scrape(&url).await;
                let tracked = |map: &str| {
                    sample(&metrics, &format!("presence_local_posts{{map=\"{map}\"}}"))
                        .unwrap_or(0.0)
                };
                (tracked("hub") >= 11.0 && tracked("watchers") == 10.0 && tracked("readers") == 1.0)
                    .then_some(())
            },
        )
        .await;
        watcher.leave().await;
        reader.leave().await;
        let metrics = eventually(
            "every per-post map to be empty",
            Duration::from_secs(15),
            async || {
                let metrics = scrape(&url).await;
                let all_empty = ["hub", "feeds", "readers", "watchers"].iter().all(|map| {
                    sample(&metrics, &format!("presence_local_posts{{map=\"{map}\"}}")) == Some(0.0)
                });
                all_empty.then_some(metrics)
            },
        )
        .await;
        assert_eq!(sample(&metrics, "presence_event_streams"), Some(0.0));
        assert_eq!(sample(&metrics, "presence_connections"), Some(0.0));
    }
}

#[tokio::test]
async fn an_upgrade_names_an_open_session_or_is_refused() {
    let server = ServerProcess::start(&[]).await;
    let upgrade = |sid: &str| {
        format!(
            "GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: presence\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
    };
    let answer_to = async |request: String| {
        let mut stream = connect_from("127.0.0.7", &server).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = [0u8; 12];
        stream.read_exact(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    };
    // A session that was never opened: refused before any websocket exists.
    assert_eq!(answer_to(upgrade("AAAAAAAAAAAAAAHs")).await, "HTTP/1.1 400");
    // A real long-polling session upgrades, as socket.io-client's do.
    let open = reqwest::get(format!(
        "{}/socket.io/?EIO=4&transport=polling",
        server.url()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let open: serde_json::Value = serde_json::from_str(open.trim_start_matches('0')).unwrap();
    let sid = open["sid"].as_str().unwrap();
    assert_eq!(answer_to(upgrade(sid)).await, "HTTP/1.1 101");
}
