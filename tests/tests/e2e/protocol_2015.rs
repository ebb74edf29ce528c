//! The 2015 client on the official npm `socket.io-client` 4, against the real
//! binary on a real Redis, and the connect race it used to lose.

use presence_tests::node::node_script;
use presence_tests::{RedisServer, ServerProcess};

#[tokio::test]
async fn the_2015_client_works_unchanged() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &redis.url())]).await;
    let output = node_script("client-2015.mjs", &[("PRESENCE_URL", &server.url())]).await;
    println!("client-2015: {output}");
}

#[tokio::test]
async fn the_2015_client_works_on_the_memory_store() {
    let server = ServerProcess::start(&[]).await;
    node_script("client-2015.mjs", &[("PRESENCE_URL", &server.url())]).await;
}

/// socketioxide acknowledges a connection before an async connect handler runs;
/// a `viewing` emitted in the client's `connect` callback used to be dropped for a
/// few of every thousand connections. Handlers are now registered in a connect
/// middleware: every one of 2,000 fresh clients must be counted.
#[tokio::test]
async fn no_viewing_is_lost_in_the_connect_race() {
    let redis = RedisServer::start();
    // All 2,000 clients come from 127.0.0.1.
    let server = ServerProcess::start(&[
        ("PRESENCE_REDIS__URL", &redis.url()),
        // Each long-polling client holds its session and the connections it polls
        // and upgrades on: far more than 2,000 leases at the peak.
        ("PRESENCE_SECURITY__MAX_CONNECTIONS_PER_IP", "20000"),
    ])
    .await;
    let output = node_script(
        "connect-race.mjs",
        &[
            ("PRESENCE_URL", &server.url()),
            ("CLIENTS", "2000"),
            ("POST", "race"),
        ],
    )
    .await;
    println!("connect race: {output}");
}
