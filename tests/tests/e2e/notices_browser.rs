//! Live notices in headless Chromium: embed/presence.js on embed/demo.html against the
//! real binary with a notices token (see tests/js/browser/notices.test.mjs and
//! docs/notices.md). The memory store: delivery across servers is tested elsewhere.

use presence_tests::ServerProcess;
use presence_tests::node::node_script;

const TOKEN: &str = "test-notice-token";

/// A notice for a post shows a bar (role="status") to its readers and not to readers of
/// another post; a site-wide "updated" notice shows both a Reload link and replaces the
/// old bar; Dismiss hides it; a repeated id is not shown again; data-presence-notices="off"
/// shows nothing; no layout shift, no console errors; writes tests/artifacts/notice.png.
#[tokio::test]
async fn notices_show_in_chromium() {
    let server = ServerProcess::start(&[("PRESENCE_NOTICES__TOKEN", TOKEN)]).await;
    let output = node_script(
        "browser/notices.test.mjs",
        &[
            ("PRESENCE_URL", &server.url()),
            ("PRESENCE_NOTICE_TOKEN", TOKEN),
        ],
    )
    .await;
    println!("notices.test.mjs:\n{output}");
}
