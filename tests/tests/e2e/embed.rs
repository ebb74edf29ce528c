//! The embed (embed/presence.js on embed/demo.html) in headless Chromium against the
//! real binary (see tests/js/browser), its size as the READMEs state it, and the
//! WordPress plugin (lint, and its signed-view token against the protocol's test vector). The memory store throughout: a killed server's sessions are gone
//! with it, which is what the restart test needs (Redis keeps them until their TTL;
//! that is tested elsewhere).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use presence_tests::ServerProcess;
use presence_tests::binaries::workspace_root;
use presence_tests::node::{js_dir, node_script};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

/// Two readers of the demo post both show 2; one closes and the other shows 1 within
/// 2 s; two posts do not see each other's counts; the static script tag and its text
/// options; idle mode; no console errors; writes tests/artifacts/demo.png.
#[tokio::test]
async fn the_embed_works_in_chromium() {
    let server = ServerProcess::start(&[]).await;
    let output = node_script("browser/embed.test.mjs", &[("PRESENCE_URL", &server.url())]).await;
    println!("embed.test.mjs:\n{output}");
}

/// Badges of other posts (`data-post-id` on the element): an archive page with 20 of them
/// opens one websocket and sends one `watch`, its badges follow readers coming and going,
/// and it is counted as a reader of none of them (GET /api/posts); a post page counts its
/// own post and watches its related posts; `watch` again after a reconnect; the first 50
/// posts of a page with more; no websocket on a page with nothing to show; no console
/// errors (tests/js/browser/watch.test.mjs).
#[tokio::test]
async fn badges_of_other_posts_are_live_over_one_websocket() {
    let server = ServerProcess::start(&[]).await;
    let output = node_script("browser/watch.test.mjs", &[("PRESENCE_URL", &server.url())]).await;
    println!("watch.test.mjs:\n{output}");
}

/// Two pages show 2; the server is killed (SIGKILL) and started again on the same
/// port; both pages reconnect on their own and show 2 again, with no console errors.
#[tokio::test]
async fn the_embed_recovers_when_the_server_is_killed_and_restarted() {
    let mut server = ServerProcess::start(&[]).await;
    let mut run = Reconnect::start(&server.url());

    let ready = run.line(Duration::from_secs(60)).await;
    if ready["event"] != "ready" || ready["count"] != 2 {
        run.fail(&format!("expected the ready line, got {ready}"))
            .await;
    }
    server.daemon.kill();
    let _server = ServerProcess::start_on(server.port, &[]).await;
    run.say("restarted").await;

    // reconnect.mjs gives the pages RECOVER_MS (15 s) and then reports either way.
    let last = run.line(Duration::from_secs(40)).await;
    if last["event"] != "recovered" || last["count"] != 2 {
        run.fail(&format!("the pages did not recover: {last}"))
            .await;
    }
    run.exits_successfully().await;
    println!("reconnect.mjs: {last}");
}

/// tests/js/browser/reconnect.mjs driven through its stdin/stdout contract.
struct Reconnect {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
    seen: Vec<String>,
}

impl Reconnect {
    fn start(url: &str) -> Self {
        let mut child = Command::new("node")
            .arg(js_dir().join("browser/reconnect.mjs"))
            .env("PRESENCE_URL", url)
            .current_dir(js_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Self {
            child,
            stdout,
            stderr,
            seen: Vec::new(),
        }
    }

    /// The next JSON line on its stdout.
    async fn line(&mut self, within: Duration) -> Value {
        let line = match tokio::time::timeout(within, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => self.fail("its stdout closed").await,
            Ok(Err(e)) => self.fail(&format!("reading its stdout: {e}")).await,
            Err(_) => self.fail(&format!("no line within {within:?}")).await,
        };
        self.seen.push(line.clone());
        match serde_json::from_str(&line) {
            Ok(value) => value,
            Err(e) => self.fail(&format!("not a JSON line ({e})")).await,
        }
    }

    async fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        if let Err(e) = stdin.write_all(format!("{line}\n").as_bytes()).await {
            self.fail(&format!("writing {line:?} to its stdin: {e}"))
                .await;
        }
    }

    async fn exits_successfully(&mut self) {
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => self.fail(&format!("exited with {status}")).await,
            Ok(Err(e)) => self.fail(&format!("waiting for it: {e}")).await,
            Err(_) => self.fail("did not exit within 20 s").await,
        }
    }

    /// Kills it and panics with `why`, its stdout so far and its stderr.
    async fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let stderr = match tokio::time::timeout(Duration::from_secs(5), &mut self.stderr).await {
            Ok(Ok(text)) => text,
            _ => "(not available)".into(),
        };
        panic!(
            "reconnect.mjs: {why}\n--- stdout\n{}\n--- stderr\n{stderr}",
            self.seen.join("\n")
        );
    }
}

/// The README and embed/README.md say "presence.js is N bytes, M gzipped", with M
/// measured by `gzip -9 < embed/presence.js | wc -c`; this keeps both figures true,
/// and the script within its budget of 2.5 KB gzipped (embed/README.md says why).
#[test]
fn the_readmes_state_the_size_of_presence_js() {
    let root = workspace_root();
    let script = std::fs::read(root.join("embed/presence.js")).expect("read embed/presence.js");
    let gzipped = gzip_9(&script).len();
    println!(
        "presence.js: {} bytes, {gzipped} bytes gzip -9",
        script.len()
    );
    assert!(
        gzipped <= 2560,
        "presence.js is {gzipped} bytes with gzip -9, over its budget of 2560"
    );

    let stated = format!("presence.js is {} bytes, {gzipped} gzipped", script.len());
    for readme in ["README.md", "embed/README.md"] {
        let text = std::fs::read_to_string(root.join(readme)).expect("read README");
        // Line breaks and `code` marks do not matter.
        let text = text
            .replace('`', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.contains(&stated) {
            let says = text
                .match_indices("presence.js is ")
                .map(|(at, _)| text[at..].chars().take(50).collect::<String>())
                .collect::<Vec<_>>();
            panic!(
                "{readme} must state the size of embed/presence.js as \"{stated}\" \
                 (gzip -9 < embed/presence.js | wc -c); it says: {says:?}"
            );
        }
    }
}

fn gzip_9(bytes: &[u8]) -> Vec<u8> {
    let mut gzip = std::process::Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip must be installed");
    let mut stdin = gzip.stdin.take().expect("piped stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = gzip.wait_with_output().expect("run gzip");
    writer.join().expect("writer").expect("write to gzip");
    assert!(output.status.success(), "gzip failed: {}", output.status);
    output.stdout
}

/// `php -l` on every PHP file under embed/wordpress: the plugin and, deliberately, its
/// tests (embed/wordpress/tests), which are not shipped but must parse too.
#[test]
fn the_wordpress_plugin_passes_php_lint() {
    let mut files = Vec::new();
    php_files(&workspace_root().join("embed/wordpress"), &mut files);
    assert!(!files.is_empty(), "no .php files under embed/wordpress");
    for expected in [SIGN_VIEW_VECTOR, "embed/wordpress/presence/presence.php"] {
        assert!(
            files.contains(&workspace_root().join(expected)),
            "{expected} is not among the linted files: {files:?}"
        );
    }
    let mut failures = Vec::new();
    for file in &files {
        let output = std::process::Command::new("php")
            .arg("-l")
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("php must be installed (see README): {e}"));
        if !output.status.success() {
            failures.push(format!(
                "{} ({}):\n{}{}",
                file.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "php -l failed:\n{}",
        failures.join("\n")
    );
    println!("php -l: {} files without syntax errors", files.len());
}

const SIGN_VIEW_VECTOR: &str = "embed/wordpress/tests/sign-view-vector.php";

/// The plugin's `presence_sign_view` reproduces the signed-views test vector (secret
/// "s3cret", post "13", expiry 1767225600), run as
/// `php embed/wordpress/tests/sign-view-vector.php`, which exits non-zero on a mismatch.
#[test]
fn the_wordpress_plugin_signs_views_as_the_server_checks_them() {
    let output = std::process::Command::new("php")
        .arg(SIGN_VIEW_VECTOR)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("php must be installed (see README): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "php {SIGN_VIEW_VECTOR} failed ({}):\n{stdout}{stderr}",
        output.status
    );
    assert!(
        stdout.contains(
            "1767225600.30f5dc30535984a70220aa8216499f8930438b8c23aaaf355302f2beb6739fd5"
        ),
        "php {SIGN_VIEW_VECTOR} did not print the token: {stdout}{stderr}"
    );
    print!("{stdout}");
}

fn php_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            php_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "php") {
            found.push(path);
        }
    }
}
