//! The WordPress plugin never waits for presence-server: no PHP code of the plugin
//! (embed/wordpress/presence/) may open a connection at all. Counts, lists, figures and
//! notices go between the browser and presence-server (embed/README.md); this reads every
//! PHP file of the plugin and fails on any way PHP has to send a request. The real-WordPress
//! tests (wordpress_site) show the same from outside, against a server that hangs.

use std::path::{Path, PathBuf};

use presence_tests::binaries::workspace_root;

/// What PHP (and WordPress) send requests with.
const NETWORK_CALLS: [&str; 10] = [
    "wp_remote_",
    "wp_safe_remote_",
    "download_url(",
    "WP_Http",
    "Requests::",
    "curl_",
    "fsockopen",
    "stream_socket_client",
    "file_get_contents( 'http",
    "get_headers(",
];

#[test]
fn the_wordpress_plugin_sends_no_request_from_php() {
    let mut files = Vec::new();
    php_files(
        &workspace_root().join("embed/wordpress/presence"),
        &mut files,
    );
    assert!(
        files.len() >= 8,
        "the plugin's PHP files were not found: {files:?}"
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a PHP file");
        for (line, content) in text.lines().enumerate() {
            for call in NETWORK_CALLS {
                if content.contains(call) {
                    found.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        line + 1,
                        content.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the plugin must not contact presence-server from PHP:\n{}",
        found.join("\n")
    );
    println!("{} PHP files, no request sent from PHP", files.len());
}

fn php_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a plugin directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            php_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "php") {
            found.push(path);
        }
    }
}
