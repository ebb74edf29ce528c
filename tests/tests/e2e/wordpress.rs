//! The WordPress plugin's server-side counts (embed/wordpress/presence/includes/reading-now.php)
//! against the real binary: readers connect with `Reader`, then
//! `php embed/wordpress/tests/reading-now.php <server>` renders the dashboard widget, the
//! "Reading now" column and the popular list with stand-ins for WordPress (see that file),
//! and this checks the HTML: counts, order, skipped ids, batching, caching, escaping.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use presence_tests::binaries::{http_get, workspace_root};
use presence_tests::ports::free_port;
use presence_tests::{Reader, ServerProcess, eventually};

const HARNESS: &str = "embed/wordpress/tests/reading-now.php";

/// Readers per post. The harness's site has published posts 101, 102, 103, 105 and 107,
/// a draft 104 and a page 106; 999 is not a post of the site at all.
const READERS: [(&str, usize); 6] = [
    ("999", 6),
    ("106", 5),
    ("104", 4),
    ("101", 3),
    ("102", 2),
    ("103", 1),
];

#[tokio::test]
async fn the_wordpress_plugin_shows_what_is_read_now() {
    let server = ServerProcess::start(&[]).await;
    let url = server.url();
    let mut readers = Vec::new();
    for (post, n) in READERS {
        for _ in 0..n {
            readers.push(Reader::viewing(&url, post).await);
        }
    }
    let ids: Vec<&str> = READERS.iter().map(|(post, _)| *post).collect();
    let api = format!("{url}/api/posts?ids={}", ids.join(","));
    eventually(
        "the readers to be counted",
        Duration::from_secs(10),
        async || {
            let (_, body) = http_get(&api).await?;
            let counts: serde_json::Value = serde_json::from_str(&body).ok()?;
            let all = READERS
                .iter()
                .zip(counts["posts"].as_array()?)
                .all(|((_, n), row)| row["viewers"].as_u64() == Some(*n as u64));
            all.then_some(())
        },
    )
    .await;

    let closed = format!("http://127.0.0.1:{}", free_port());
    let output = run_harness(&[&url, &closed]);
    println!("{output}");
    let html = sections(&output);
    let section = |name: &str| -> &str {
        html.get(name)
            .unwrap_or_else(|| panic!("no section {name} in:\n{output}"))
    };
    let requests = |name: &str| -> u32 {
        let text = section(name);
        let at = text.rfind("requests: ").expect("requests line");
        text[at + 10..]
            .trim()
            .parse()
            .expect("a number of requests")
    };

    // Without a URL: a clear message, no request.
    assert!(section("dashboard-unconfigured").contains("No presence-server URL is set"));
    assert_eq!(badges(section("popular-unconfigured")), vec![]);
    assert_eq!(requests("dashboard-unconfigured"), 0);

    // The dashboard: 21 readers of 6 posts on the whole server; the list has only the
    // published posts, most readers first, titles escaped and linked.
    let dashboard = section("dashboard");
    assert!(
        dashboard.contains(r#"data-viewers="21" data-posts="6""#),
        "{dashboard}"
    );
    assert!(dashboard.contains("21 people reading 6 posts now."));
    assert_eq!(
        badges(dashboard),
        vec![("101", "3"), ("102", "2"), ("103", "1")]
    );
    assert!(dashboard.contains(
        r#"<a href="https://blog.example.com/?p=102">Second &lt;post&gt; &amp; &quot;quotes&quot;</a>"#
    ));
    assert!(dashboard.contains(">3 reading</span>") && dashboard.contains(">1 reading</span>"));
    assert_eq!(requests("dashboard"), 2, "one /api/stats, one /api/top");
    assert_eq!(requests("dashboard-cached"), 0, "the transient cache");
    assert_eq!(
        section("dashboard-cached"),
        dashboard.replace("requests: 2", "requests: 0")
    );

    // The column: every post of the screen, readers or not, in one request; with a batch
    // limit of 2, five posts take three.
    let column = [
        ("101", "3"),
        ("102", "2"),
        ("103", "1"),
        ("105", "0"),
        ("107", "0"),
    ];
    for name in ["column", "column-batched"] {
        assert!(section(name).contains("columns: title,presence_viewers"));
        assert_eq!(badges(section(name)), column.to_vec(), "{name}");
    }
    assert!(section("column").contains(
        r#"data-post-id="101" data-presence-template="{n}" data-presence-zero="0" data-presence-count="3" aria-live="polite">3</span>"#
    ));
    assert_eq!(requests("column"), 1);
    assert_eq!(requests("column-batched"), 3);

    // The popular list skips the ids that are not published posts (999, the page 106,
    // the draft 104), and loads presence.js to keep the badges live.
    assert_eq!(
        badges(section("popular")),
        vec![("101", "3"), ("102", "2"), ("103", "1")]
    );
    assert!(output.contains(&format!(
        r#"enqueued: {{"presence":"{}\/presence.js"}}"#,
        url.replace('/', "\\/")
    )));
    let widget = section("popular-widget");
    assert!(widget.starts_with(
        r#"<section class="widget"><h2>Popular &lt;now&gt;</h2><ol class="presence-popular">"#
    ));
    assert_eq!(badges(widget).len(), 3);

    // No capability: no column, no dashboard widget.
    assert_eq!(
        section("column-no-capability").lines().next(),
        Some("columns: title")
    );
    assert_eq!(badges(section("column-no-capability")), vec![]);
    assert!(!section("dashboard-no-capability").contains("presence_reading_now"));

    // The internal URL does not answer: the admin says so (once per cache lifetime),
    // visitors see nothing.
    assert!(
        section("dashboard-unreachable").contains(&format!(
            "Could not get the counts from presence-server at {closed}"
        )),
        "{}",
        section("dashboard-unreachable")
    );
    assert_eq!(requests("dashboard-unreachable"), 1);
    assert_eq!(requests("dashboard-unreachable-cached"), 0);
    assert!(section("column-unreachable").contains("&mdash;</span>"));
    assert_eq!(
        section("popular-unreachable").trim(),
        "requests: 1",
        "visitors see nothing"
    );

    for reader in readers {
        reader.leave().await;
    }
}

/// `php <harness> <args>`; panics with its output unless it exits 0.
fn run_harness(args: &[&str]) -> String {
    let output = std::process::Command::new("php")
        .arg(HARNESS)
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("php must be installed (see README): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && !stdout.contains("Warning") && !stdout.contains("Fatal"),
        "php {HARNESS} failed ({}):\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The harness's output split at its "=== name" lines.
fn sections(output: &str) -> HashMap<String, String> {
    output
        .split("=== ")
        .skip(1)
        .filter_map(|part| {
            let (name, body) = part.split_once('\n')?;
            Some((name.to_string(), body.to_string()))
        })
        .collect()
}

/// (data-post-id, data-presence-count) of each badge, in document order ("" without a count).
fn badges(html: &str) -> Vec<(&str, &str)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some((end, post)) = attribute(rest, "data-post-id") {
        let tag_end = rest[end..].find('>').map_or(rest.len(), |at| end + at);
        let count = attribute(&rest[end..tag_end], "data-presence-count").map_or("", |(_, n)| n);
        found.push((post, count));
        rest = &rest[tag_end..];
    }
    found
}

/// The value of the first `name="…"` in `text`, and where it ends.
fn attribute<'a>(text: &'a str, name: &str) -> Option<(usize, &'a str)> {
    let start = text.find(&format!("{name}=\""))? + name.len() + 2;
    let len = text[start..].find('"')?;
    Some((start + len, &text[start..start + len]))
}
