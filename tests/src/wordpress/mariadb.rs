//! A private MariaDB for one WordPress site: `mariadbd` on its own socket, port and
//! temporary data directory, killed on drop. Where `mariadbd` is not installed, a
//! fresh database on the MariaDB or MySQL at 127.0.0.1:3306 (user root, no password),
//! dropped on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::logs::ChildLog;
use crate::ports::free_port;

const MARIADBD: &str = "/usr/sbin/mariadbd";

pub struct MariaDb {
    /// WordPress's `DB_HOST`: `localhost:<socket>` for our own server.
    pub host: String,
    pub database: String,
    child: Option<Child>,
    _log: Option<ChildLog>,
}

impl MariaDb {
    /// Starts a server in `dir` (which must exist) and creates the database `wordpress`.
    pub fn start(dir: &Path) -> Self {
        if !Path::new(MARIADBD).exists() {
            return Self::shared();
        }
        let data = dir.join("data");
        let socket = dir.join("mysqld.sock");
        let user = current_user();
        crate::package::run(
            Command::new("mariadb-install-db")
                .args(["--no-defaults", "--auth-root-authentication-method=normal"])
                .args(["--skip-test-db", "--skip-name-resolve"])
                .arg(format!("--user={user}"))
                .arg(format!("--datadir={}", data.display())),
        );
        // Killed with the test process, should it die before dropping this.
        let mut child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", MARIADBD, "--no-defaults"])
            .arg(format!("--user={user}"))
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--port={}", free_port()))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--skip-log-bin",
            ])
            .args([
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
            ])
            .args([
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-innodb-doublewrite",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mariadbd");
        let log = ChildLog::capture("mariadbd", &mut child);
        let client = |sql: &str| {
            Command::new("mariadb")
                .args(["--no-defaults", "-uroot"])
                .arg(format!("--socket={}", socket.display()))
                .args(["-e", sql])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !client("CREATE DATABASE wordpress") {
            assert!(
                Instant::now() < deadline,
                "mariadbd did not answer within 30 s (log: {})",
                log.path().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            host: format!("localhost:{}", socket.display()),
            database: "wordpress".into(),
            child: Some(child),
            _log: Some(log),
        }
    }

    /// A new database on the server at 127.0.0.1:3306.
    fn shared() -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let database = format!(
            "presence_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let db = Self {
            host: "127.0.0.1:3306".into(),
            database,
            child: None,
            _log: None,
        };
        db.shared_sql(&format!("CREATE DATABASE `{}`", db.database))
            .unwrap_or_else(|e| {
                panic!("{MARIADBD} is not installed, and MySQL at 127.0.0.1:3306 (root, no password) did not work either: {e}")
            });
        db
    }

    /// Runs one statement on the shared server with PHP's mysqli (always there for
    /// WordPress, unlike a client binary).
    fn shared_sql(&self, sql: &str) -> Result<(), String> {
        let output = Command::new("php")
            .args([
                "-r",
                "$db = new mysqli('127.0.0.1', 'root', '', '', 3306); $db->query($argv[1]) or exit(1);",
                "--",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

/// The user mariadbd runs as: itself (mariadbd refuses root unless told so).
fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "root".into())
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        match self.child.take() {
            Some(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            None => {
                let _ = self.shared_sql(&format!("DROP DATABASE `{}`", self.database));
            }
        }
    }
}
