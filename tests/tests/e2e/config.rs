//! A bad setting stops the binary at start with one line: key, value, allowed.

use std::process::Command;

use presence_tests::binaries::binary;

fn start_with(name: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(binary(name))
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_bad_value_names_key_value_and_what_is_allowed() {
    for name in ["presence-server", "presence-gc"] {
        let (code, stderr) = start_with(name, &[("PRESENCE_SESSION__TTL_SECS", "soon")]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{name}: one line, got {stderr:?}"
        );
        assert!(
            stderr.contains("session.ttl_secs") && stderr.contains("soon"),
            "{stderr}"
        );

        let (code, stderr) = start_with(name, &[("PRESENCE_SESSION__TTL_SECS", "0")]);
        assert_eq!(code, Some(2));
        assert_eq!(
            stderr.trim(),
            "config: session.ttl_secs = 0: must be from 3 to 86400"
        );
    }
    let (code, stderr) = start_with(
        "presence-server",
        &[("PRESENCE_REDIS__URL", "localhost:6379")],
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("redis.url") && stderr.contains("redis://"),
        "{stderr}"
    );

    let (code, stderr) = start_with("presence-server", &[("PRESENCE_SERVER__LISTN", "x")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server.listn"), "a typo is named: {stderr}");
}

#[test]
fn a_missing_config_file_is_an_error() {
    let output = Command::new(binary("presence-server"))
        .args(["--config", "/nonexistent/presence.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/presence.toml"), "{stderr}");
}

#[test]
fn gc_refuses_to_run_without_redis() {
    let (code, stderr) = start_with("presence-gc", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("redis.url"), "{stderr}");
}
