//! The editors' dashboard in headless Chromium (tests/js/browser/dashboard.test.mjs)
//! against the real binary on a real Redis, with official socket.io-client readers.

use presence_tests::node::node_script;
use presence_tests::{RedisServer, ServerProcess};

const TOKEN: &str = "test-dashboard-token";

/// The browser is asked for credentials; with them the page shows site-wide readers
/// (6, then 8 live), posts being read, the top posts in order, and a chart drawn
/// from the history kept in Redis; no console errors; writes
/// tests/artifacts/dashboard.png.
#[tokio::test]
async fn the_dashboard_works_in_chromium() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[
        ("PRESENCE_REDIS__URL", &redis.url()),
        ("PRESENCE_DASHBOARD__TOKEN", TOKEN),
        ("PRESENCE_DASHBOARD__HISTORY_STEP_SECS", "1"),
    ])
    .await;
    let output = node_script(
        "browser/dashboard.test.mjs",
        &[
            ("PRESENCE_URL", &server.url()),
            ("PRESENCE_DASHBOARD_TOKEN", TOKEN),
        ],
    )
    .await;
    println!("dashboard.test.mjs:\n{output}");
}
