//! A private `redis-server` per test: its own port, its own config, no disk.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::logs::ChildLog;
use crate::ports::free_redis_port;

pub struct RedisServer {
    port: u16,
    extra_args: Vec<String>,
    child: Option<Child>,
    /// Its output; replaced on restart.
    log: Option<ChildLog>,
    dir: PathBuf,
    tls: bool,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts with extra `redis-server` arguments, e.g. `["--rename-command",
    /// "CONFIG", ""]` to play a managed Redis.
    pub fn start_with(extra_args: &[&str]) -> Self {
        let port = free_redis_port();
        let dir =
            std::env::temp_dir().join(format!("presence-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create redis dir");
        let mut redis = Self {
            port,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            child: None,
            log: None,
            dir,
            tls: false,
        };
        redis.launch();
        redis
    }

    /// Starts a TLS-only Redis with a certificate from a throwaway CA. Clients
    /// must trust [`RedisServer::ca_file`] (rustls reads `SSL_CERT_FILE`).
    pub fn start_tls() -> Self {
        let port = free_redis_port();
        let dir =
            std::env::temp_dir().join(format!("presence-redis-tls-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create redis dir");
        make_certificates(&dir);
        let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let extra_args = vec![
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            file("server.crt"),
            "--tls-key-file".into(),
            file("server.key"),
            "--tls-ca-cert-file".into(),
            file("ca.crt"),
            "--tls-auth-clients".into(),
            "no".into(),
        ];
        let mut redis = Self {
            port,
            extra_args,
            child: None,
            log: None,
            dir,
            tls: true,
        };
        redis.launch();
        redis
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/0", self.port)
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("redis url")
    }

    /// A connection for the test's own checks, patient enough for a loaded CI
    /// machine (redis-rs gives up after 500 ms by default).
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let config = redis::AsyncConnectionConfig::new()
            .set_response_timeout(Some(Duration::from_secs(10)))
            .set_connection_timeout(Some(Duration::from_secs(10)));
        self.client()
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .expect("connect to test redis")
    }

    /// Kills the server (SIGKILL: no goodbye to clients, no save).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn launch(&mut self) {
        let mut command = Command::new("redis-server");
        if !self.tls {
            command.args(["--port", &self.port.to_string()]);
        }
        let mut child = command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args(&self.extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("redis-server must be installed (scripts/setup installs it)");
        self.log = Some(ChildLog::capture("redis-server", &mut child));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.answers_ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }
}

impl RedisServer {
    /// Whether the server is up: PING over plain TCP, or `redis-cli --tls` (the
    /// test process itself does not trust the throwaway CA). A server that wants a
    /// password answers NOAUTH, which also means it is up.
    fn answers_ping(&self) -> bool {
        if self.tls {
            let ca = self.ca_file();
            return Command::new("redis-cli")
                .args(["--tls", "--cacert", &ca.to_string_lossy()])
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "PING"])
                .output()
                .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("PONG"));
        }
        match self.client().get_connection() {
            Ok(mut conn) => match redis::cmd("PING").query::<String>(&mut conn) {
                Ok(_) => true,
                Err(error) => error.to_string().contains("NOAUTH"),
            },
            Err(error) => error.to_string().contains("NOAUTH"),
        }
    }
}

/// A CA and a server certificate for 127.0.0.1, made with the openssl CLI.
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl must be installed");
        assert!(status.success(), "openssl {args:?} failed");
    };
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("write san.ext");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=presence test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
