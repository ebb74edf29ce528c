//! `cargo test` output shows test results, not the logs of the processes the tests
//! start: those go to files, `PRESENCE_TEST_LOG` prints them, and a failing test
//! prints the end of its own.
//!
//! Proven on this very test binary: it runs itself on one ignored test that starts a
//! server (which warns at start that `security.allowed_origins` is empty) and a
//! `redis-server`, and reads what a user would see.

use std::process::Command;

use presence_tests::{RedisServer, ServerProcess};

/// Starts what a typical test starts, and passes.
#[tokio::test]
#[ignore = "run by test_logs's own tests, which read its output"]
async fn inner_a_test_that_starts_a_server_and_redis() {
    let redis = RedisServer::start();
    let _server = ServerProcess::start(&[("PRESENCE_REDIS__URL", &redis.url())]).await;
}

/// Starts a server and fails.
#[tokio::test]
#[ignore = "run by test_logs's own tests, which read its output"]
async fn inner_a_failing_test() {
    let _server = ServerProcess::start(&[]).await;
    panic!("failing on purpose");
}

/// This binary's output when it runs the ignored test `name`, with
/// `PRESENCE_TEST_LOG` set to `level` or unset.
fn run_inner(name: &str, level: Option<&str>) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command.args([&format!("test_logs::{name}"), "--exact", "--ignored"]);
    match level {
        Some(level) => command.env(presence_tests::logs::VARIABLE, level),
        None => command.env_remove(presence_tests::logs::VARIABLE),
    };
    let output = command.output().expect("run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn child_logs_stay_out_of_the_test_output_unless_asked_for() {
    let (passed, quiet) = run_inner("inner_a_test_that_starts_a_server_and_redis", None);
    assert!(passed && quiet.contains("1 passed"), "{quiet}");
    for noise in ["WARN", "allowed_origins", "listening", "Ready to accept"] {
        assert!(
            !quiet.contains(noise),
            "{noise:?} in the test output:\n{quiet}"
        );
    }

    let (passed, loud) = run_inner("inner_a_test_that_starts_a_server_and_redis", Some("info"));
    assert!(passed, "{loud}");
    let server_line = loud
        .lines()
        .find(|line| line.starts_with("[presence-server-") && line.contains("listening"));
    assert!(
        server_line.is_some(),
        "the server's log is not printed:\n{loud}"
    );
    assert!(
        loud.lines()
            .any(|line| line.starts_with("[redis-server-") && line.contains("Ready to accept")),
        "redis-server's log is not printed:\n{loud}"
    );
    assert!(loud.contains("WARN"), "{loud}");
}

#[test]
fn a_failing_test_prints_the_end_of_its_logs_and_keeps_them() {
    let (passed, output) = run_inner("inner_a_failing_test", None);
    assert!(!passed, "{output}");
    let header = output
        .lines()
        .find(|line| line.starts_with("--- presence-server-") && line.contains("all in "))
        .unwrap_or_else(|| panic!("no log tail in:\n{output}"));
    assert!(output.contains("listening"), "{output}");
    let path = header.rsplit("all in ").next().expect("a path");
    assert!(std::path::Path::new(path).is_file(), "{path} was not kept");
    let _ = std::fs::remove_file(path);
    if let Some(dir) = std::path::Path::new(path).parent() {
        let _ = std::fs::remove_dir(dir);
    }
}
