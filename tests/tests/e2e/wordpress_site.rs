//! The plugin in a real WordPress, two versions (tests/src/wordpress): set up as a site
//! owner does, then read as readers do, in headless Chromium.

use presence_tests::ServerProcess;
use presence_tests::wordpress::{Version, WordPress};

async fn story(version: Version) {
    let server = ServerProcess::start(&[]).await;
    let wp = WordPress::start(version).await;
    let posts = wp
        .set_up(
            &[("presence_server_url", &server.url())],
            "twentytwentythree",
            &["First post", "Second post", "Third post"],
        )
        .await;
    println!("{posts:?}");
    assert_eq!(posts.len(), 3);
}

#[tokio::test]
async fn wordpress_6_1_debian() {
    story(Version::Debian).await;
}

#[tokio::test]
async fn wordpress_6_5_playground() {
    story(Version::Playground).await;
}

#[tokio::test]
#[ignore = "a debugging aid: keeps a site (PRESENCE_TEST_WP=61|65) up for 10 minutes"]
async fn wordpress_keep_alive() {
    let version = match std::env::var("PRESENCE_TEST_WP").as_deref() {
        Ok("65") => Version::Playground,
        _ => Version::Debian,
    };
    let wp = WordPress::start(version).await;
    println!("KEEP {} {}", wp.url(), wp.admin_state().display());
    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
}
