//! Runs the Node.js scripts in `tests/js/` (the official `socket.io-client`,
//! playwright-core driving Chromium) and reports their output.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::Command;

use crate::binaries::workspace_root;

pub fn js_dir() -> PathBuf {
    workspace_root().join("tests/js")
}

/// Runs `node <script>` with `env`; panics with its output if it fails.
pub async fn node_script(script: &str, env: &[(&str, &str)]) -> String {
    let dir = js_dir();
    assert!(
        dir.join("node_modules").exists(),
        "tests/js/node_modules is missing: run `npm ci --prefix tests/js` (the README's test command does)"
    );
    let output = Command::new("node")
        .arg(dir.join(script))
        .envs(env.iter().copied())
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}
