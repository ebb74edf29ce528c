//! Configuration against the real binaries: a setting that cannot be used stops the
//! start with exit code 2 and one line naming the key once (as written: a dotted key
//! in the file, the variable in the environment), the value and what is allowed;
//! nothing is silently ignored. And fatal errors: printed once, to standard error,
//! in colour only on a terminal without `NO_COLOR`.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use presence_core::config::SOCKET_ADDRESS;
use presence_tests::binaries::binary;
use presence_tests::ports::free_port;
use presence_tests::{GcProcess, RedisServer, ServerProcess};

const BOTH: [&str; 2] = ["presence-server", "presence-gc"];

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `name` to its exit with only `env` (and PATH), in an empty directory.
fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_command(Command::new(binary(name)).args(args), env)
}

/// Runs `command` to its exit, or kills it after a minute (a binary that should
/// have refused to start and did not): its code is then `None`.
fn run_command(command: &mut Command, env: &[(&str, &str)]) -> Run {
    let mut child = command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let read = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped")));
    let stderr = read(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Exit code 2 and exactly `line` on standard error, nothing on standard output.
fn assert_config_error(run: &Run, line: &str) {
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(run.stderr, format!("{line}\n"));
    assert_eq!(run.stdout, "");
}

/// A directory for one test's files, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("presence-config-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write a config file");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_bad_value_names_the_variable_the_value_and_what_is_allowed() {
    for name in BOTH {
        let run_with = |value| run(name, &[], &[("PRESENCE_SESSION__TTL_SECS", value)]);
        assert_config_error(
            &run_with("soon"),
            "config: PRESENCE_SESSION__TTL_SECS = \"soon\": expected a whole number",
        );
        assert_config_error(
            &run_with("0"),
            "config: PRESENCE_SESSION__TTL_SECS = 0: must be from 3 to 86400",
        );
    }
    assert_config_error(
        &run(
            "presence-server",
            &[],
            &[("PRESENCE_REDIS__URL", "localhost:6379")],
        ),
        "config: PRESENCE_REDIS__URL = \"localhost:6379\": must start with redis:// or rediss://, \
         or be empty for the in-memory store",
    );
}

#[test]
fn an_address_error_names_the_value_and_the_host_port_form() {
    for (value, shown) in [("nonsense", "\"nonsense\""), ("3000", "3000")] {
        assert_config_error(
            &run(
                "presence-server",
                &[],
                &[("PRESENCE_SERVER__LISTEN", value)],
            ),
            &format!("config: PRESENCE_SERVER__LISTEN = {shown}: expected {SOCKET_ADDRESS}"),
        );
    }
    assert!(SOCKET_ADDRESS.starts_with("host:port"));
    assert_config_error(
        &run(
            "presence-gc",
            &[],
            &[
                ("PRESENCE_REDIS__URL", "redis://127.0.0.1:1/0"),
                ("PRESENCE_GC__METRICS_LISTEN", "localhost"),
            ],
        ),
        "config: PRESENCE_GC__METRICS_LISTEN = \"localhost\": an address:port such as \
         127.0.0.1:9101, or empty to turn metrics off",
    );
}

#[test]
fn an_unknown_variable_is_an_error_naming_the_closest_setting() {
    for name in BOTH {
        for (variable, meant) in [
            ("PRESENCE_SERVR__LISTEN", "PRESENCE_SERVER__LISTEN"),
            ("PRESENCE_SERVER__LISTN", "PRESENCE_SERVER__LISTEN"),
            ("PRESENCE_REDIS_URL", "PRESENCE_REDIS__URL"),
            (
                "presence_gc__sweep_interval",
                "PRESENCE_GC__SWEEP_INTERVAL_SECS",
            ),
        ] {
            assert_config_error(
                &run(name, &[], &[(variable, "1")]),
                &format!(
                    "config: {} = \"1\": no such setting; did you mean {meant}?",
                    variable.to_ascii_uppercase()
                ),
            );
        }
        assert_config_error(
            &run(name, &[], &[("PRESENCE_COLOUR", "blue")]),
            "config: PRESENCE_COLOUR = \"blue\": no such setting; settings are \
             PRESENCE_<SECTION>__<KEY>, every one listed in config.toml",
        );
    }
    // A misspelt secret is named, its value is not printed.
    assert_config_error(
        &run(
            "presence-server",
            &[],
            &[("PRESENCE_NOTICES_TOKEN", "a-long-secret-token-value")],
        ),
        "config: PRESENCE_NOTICES_TOKEN = (hidden): no such setting; did you mean \
         PRESENCE_NOTICES__TOKEN?",
    );
}

/// Both binaries know every setting (they share a file and an environment), and
/// the project's own `PRESENCE_` variables that are not settings start fine.
#[tokio::test]
async fn the_other_binarys_settings_and_the_projects_own_variables_are_accepted() {
    let server = ServerProcess::start(&[
        ("PRESENCE_GC__BATCH_SIZE", "100"),
        ("PRESENCE_TEST_LOG", "debug"),
        ("PRESENCE_URL", "http://127.0.0.1:1"),
    ])
    .await;
    assert!(
        server
            .daemon
            .output()
            .iter()
            .any(|line| line.contains("listening"))
    );

    let redis = RedisServer::start();
    let gc = GcProcess::start(&[
        ("PRESENCE_REDIS__URL", &redis.url()),
        ("PRESENCE_SERVER__WEBSOCKET_ONLY", "true"),
        ("PRESENCE_TEST_LOG", "debug"),
    ])
    .await;
    assert!(gc.metrics().await.is_some());
}

#[test]
fn unknown_keys_and_sections_in_the_file_are_named_once_with_the_file() {
    let scratch = Scratch::new("unknown");
    let file = scratch.file("presence.toml", "[session]\nttlsecs = 5\n");
    assert_config_error(
        &run("presence-server", &["--config", &file], &[]),
        &format!(
            "config: session.ttlsecs = 5 (in {file}): no such setting; did you mean \
             session.ttl_secs?"
        ),
    );
    let file = scratch.file("section.toml", "[servr]\nlisten = \"127.0.0.1:1\"\n");
    assert_config_error(
        &run("presence-gc", &["--config", &file], &[]),
        &format!(
            "config: servr = {{\"listen\":\"127.0.0.1:1\"}} (in {file}): no such section; \
             did you mean [server]?"
        ),
    );
    let file = scratch.file("value.toml", "[server]\nlisten = \"127.0.0.1\"\n");
    assert_config_error(
        &run("presence-server", &["--config", &file], &[]),
        &format!("config: server.listen = \"127.0.0.1\" (in {file}): expected {SOCKET_ADDRESS}"),
    );
}

#[test]
fn a_toml_syntax_error_says_file_line_and_column() {
    let scratch = Scratch::new("syntax");
    let file = scratch.file(
        "presence.toml",
        "[server]\nnode = \"a\"\nlisten 127.0.0.1:3000\n",
    );
    assert_config_error(
        &run("presence-server", &["--config", &file], &[]),
        &format!("config: {file}:3:8: expected `.`, `=`"),
    );
    // An unquoted token: the position, not the line that holds the secret.
    let file = scratch.file("token.toml", "[notices]\ntoken = s3cret-s3cret-s3cret\n");
    let run = run("presence-gc", &["--config", &file], &[]);
    assert_config_error(
        &run,
        &format!("config: {file}:2:9: invalid string; expected `\"`, `'`"),
    );
}

#[test]
fn a_config_path_that_is_not_a_readable_file_is_an_error() {
    for name in BOTH {
        assert_config_error(
            &run(name, &["--config", "/nonexistent/presence.toml"], &[]),
            "config: /nonexistent/presence.toml: file not found",
        );
        let dir = std::env::temp_dir();
        let shown = dir.to_string_lossy();
        assert_config_error(
            &run(name, &["--config", &shown], &[]),
            &format!("config: {shown}: is a directory; --config takes a TOML file"),
        );
    }

    let scratch = Scratch::new("unreadable");
    let file = scratch.file("presence.toml", "[server]\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let server = binary("presence-server");
    let args = ["--config", file.as_str()];
    let run = if is_root() {
        // Root reads any file: run without capabilities, as a service user would.
        run_command(
            Command::new("setpriv")
                .args(["--bounding-set", "-all", "--inh-caps", "-all"])
                .arg(&server)
                .args(args),
            &[],
        )
    } else {
        run_command(Command::new(&server).args(args), &[])
    };
    assert_config_error(
        &run,
        &format!("config: {file}: cannot read it: Permission denied (os error 13)"),
    );

    let file = scratch.file("latin1.toml", "");
    std::fs::write(&file, b"[server]\nnode = \"caf\xe9\"\n").expect("write");
    assert_config_error(
        &run_command(Command::new(&server).args(["--config", &file]), &[]),
        &format!("config: {file}: cannot read it: it is not UTF-8 text"),
    );
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn gc_without_redis_is_a_config_error() {
    assert_config_error(
        &run("presence-gc", &[], &[]),
        "config: redis.url = \"\": presence-gc needs Redis: redis://host:port/db or rediss://… \
         (PRESENCE_REDIS__URL)",
    );
}

/// A port in use, and a Redis that refuses: one line each, on standard error, in
/// the log's format, without colour (standard error is a pipe here).
#[test]
fn a_fatal_error_is_printed_once_to_stderr() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let run = run(
        "presence-server",
        &[],
        &[("PRESENCE_SERVER__LISTEN", &address), ("RUST_LOG", "info")],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let fatal: Vec<&str> = run.stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(fatal.len(), 1, "{}", run.stderr);
    assert!(
        fatal[0].ends_with(&format!(
            "presence-server stopped: cannot listen on {address} (server.listen): \
             Address already in use (os error 98)"
        )),
        "{}",
        fatal[0]
    );
    assert_eq!(run.stderr.matches("cannot listen").count(), 1);
    assert!(
        !run.stderr.contains('\x1b'),
        "colour in a pipe: {:?}",
        run.stderr
    );

    // With error logs off, the same error is still printed once, plainly.
    let quiet = self::run(
        "presence-server",
        &[],
        &[("PRESENCE_SERVER__LISTEN", &address), ("RUST_LOG", "off")],
    );
    assert_eq!(quiet.code, Some(1));
    assert_eq!(
        quiet.stderr,
        format!(
            "presence-server: cannot listen on {address} (server.listen): Address already in use \
             (os error 98)\n"
        )
    );

    let closed = format!("redis://127.0.0.1:{}/0", free_port());
    let gc = self::run(
        "presence-gc",
        &[],
        &[
            ("PRESENCE_REDIS__URL", &closed),
            ("PRESENCE_GC__METRICS_LISTEN", ""),
        ],
    );
    assert_eq!(gc.code, Some(1), "{}", gc.stderr);
    assert_eq!(gc.stdout, "");
    let fatal: Vec<&str> = gc.stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(fatal.len(), 1, "{}", gc.stderr);
    assert_eq!(
        gc.stderr.matches("Connection refused").count(),
        1,
        "{}",
        gc.stderr
    );
}

/// Colour needs a terminal: `script` gives the binary one. `NO_COLOR` turns it off
/// there too.
#[test]
fn colour_only_on_a_terminal_and_not_with_no_color() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let on_a_terminal = |extra: &[(&str, &str)]| {
        let mut env = vec![("PRESENCE_SERVER__LISTEN", address.as_str())];
        env.extend_from_slice(extra);
        let server = binary("presence-server");
        let run = run_command(
            Command::new("script").args([
                "--quiet",
                "--return",
                "--command",
                &server.to_string_lossy(),
                "/dev/null",
            ]),
            &env,
        );
        assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("cannot listen on"), "{}", run.stdout);
        run.stdout
    };
    assert!(
        on_a_terminal(&[]).contains("\x1b["),
        "no colour on a terminal"
    );
    let plain = on_a_terminal(&[("NO_COLOR", "1")]);
    assert!(
        !plain.contains('\x1b'),
        "colour despite NO_COLOR: {plain:?}"
    );
}

/// `presence-server 2>file`: the file holds plain text.
#[test]
fn logs_written_to_a_file_have_no_colour() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let scratch = Scratch::new("log-file");
    let log = scratch.0.join("presence.log");
    let status = Command::new(binary("presence-server"))
        .env_clear()
        .env("PRESENCE_SERVER__LISTEN", &address)
        .stderr(std::fs::File::create(&log).expect("create the log"))
        .status()
        .expect("run presence-server");
    assert_eq!(status.code(), Some(1));
    let text = std::fs::read_to_string(&log).expect("read the log");
    assert!(text.contains("ERROR"), "{text}");
    assert!(!text.contains('\x1b'), "{text:?}");
}
