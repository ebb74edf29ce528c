//! The demo pages the server serves (`/`, `/archive`): each post the archive lists
//! has its own article. In Chromium (tests/js/browser/demo.test.mjs), since the
//! demo page picks the article for `?post=N` in the browser.

use presence_tests::ServerProcess;
use presence_tests::node::node_script;

#[tokio::test]
async fn each_post_in_the_archive_opens_its_own_article() {
    let server = ServerProcess::start(&[]).await;
    let output = node_script("browser/demo.test.mjs", &[("PRESENCE_URL", &server.url())]).await;
    println!("demo.test.mjs:\n{output}");
}
