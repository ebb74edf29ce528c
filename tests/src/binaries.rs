//! The real `presence-server` and `presence-gc` binaries, started as a user would
//! start them: a process, configured by environment variables.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::logs::{self, ChildLog};
use crate::ports::free_port;

/// Path of a workspace binary, built (once per test process) if needed, so
/// `cargo test` alone never runs a stale binary.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "presence-server",
                "-p",
                "presence-gc",
            ])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the binaries failed");
    });
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    profile_dir.join(name)
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A running daemon; killed on drop. Its output goes to a log file ([`crate::logs`]).
pub struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: ChildLog,
}

impl Daemon {
    fn spawn(name: &'static str, env: &HashMap<String, String>) -> Self {
        let mut child = Command::new(binary(name))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", logs::level())
            .envs(env)
            // No config.toml from the working directory: tests say everything.
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let log = ChildLog::capture(name, &mut child);
        Self {
            name,
            child: Some(child),
            log,
        }
    }

    /// Its log lines so far (standard output and error; logs go to the latter).
    pub fn output(&self) -> Vec<String> {
        self.log.lines()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{} did not exit within 30 s of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `presence-server` as a process.
pub struct ServerProcess {
    pub daemon: Daemon,
    pub port: u16,
}

impl ServerProcess {
    /// Starts on a free port with `PRESENCE_*` settings, and waits for `/healthz`.
    pub async fn start(settings: &[(&str, &str)]) -> Self {
        Self::start_on(free_port(), settings).await
    }

    /// Starts on `port` (e.g. the port of a server that was just killed).
    pub async fn start_on(port: u16, settings: &[(&str, &str)]) -> Self {
        let mut env: HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert(
            "PRESENCE_SERVER__LISTEN".into(),
            format!("127.0.0.1:{port}"),
        );
        let daemon = Daemon::spawn("presence-server", &env);
        let server = Self { daemon, port };
        server.wait_healthy().await;
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_healthy(&self) {
        let url = format!("{}/healthz", self.url());
        crate::eventually(
            "presence-server to answer /healthz",
            Duration::from_secs(20),
            async || http_get(&url).await.filter(|(status, _)| *status == 200),
        )
        .await;
    }
}

/// `presence-gc` as a process.
pub struct GcProcess {
    pub daemon: Daemon,
    metrics_port: u16,
}

impl GcProcess {
    /// Starts gc and waits until it serves metrics, which it does only after it
    /// checked that Redis sends expiry events.
    pub async fn start(settings: &[(&str, &str)]) -> Self {
        let metrics_port = free_port();
        let mut env: HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert(
            "PRESENCE_GC__METRICS_LISTEN".into(),
            format!("127.0.0.1:{metrics_port}"),
        );
        let gc = Self {
            daemon: Daemon::spawn("presence-gc", &env),
            metrics_port,
        };
        crate::eventually(
            "presence-gc to serve /metrics",
            Duration::from_secs(20),
            async || gc.metrics().await.map(drop),
        )
        .await;
        gc
    }

    /// The Prometheus text of `/metrics`, or `None` while it does not answer.
    pub async fn metrics(&self) -> Option<String> {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        http_get(&url)
            .await
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
    }

    /// The value of one counter or gauge sample, e.g. `presence_gc_sweeps_total`.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        crate::metrics::sample(&self.metrics().await?, name)
    }

    /// Runs gc to completion (it should fail at start) and returns its exit code and
    /// standard error.
    pub fn run_to_exit(settings: &[(&str, &str)]) -> (Option<i32>, String) {
        let output = Command::new(binary("presence-gc"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(settings.iter().copied())
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .output()
            .expect("run presence-gc");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// A plain HTTP GET over loopback: (status, body), or `None` if nothing answered.
pub async fn http_get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}
