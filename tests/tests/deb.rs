//! The Debian package (README "Install"): built by `scripts/build-deb`, checked by
//! lintian, then installed on this machine with `dpkg -i`, run, and purged.
//!
//! A test binary of its own, not a module of `e2e`: cargo runs test binaries one
//! after another, so its release build and its `dpkg` calls never overlap the
//! end-to-end tests. Installing needs root (CI runs as root); see
//! [`installs_runs_and_purges_without_a_trace`] for what happens otherwise.

// A test's unwrap is its assertion.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use presence_tests::binaries::{http_get, workspace_root};
use presence_tests::package::{
    Installed, NAME, USER, control_field, control_member, deb, dpkg_status, files, getent,
    running_as_root, stat_override, stdout_of, traces, unpack,
};
use presence_tests::ports::free_port;
use presence_tests::{RedisServer, eventually};

/// The workspace version (`[workspace.package] version`), which is the package's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

const CONFIG: &str = "/etc/presence/config.toml";

/// Every file the package ships, and nothing else (no tests, no sources).
const FILES: [&str; 10] = [
    "/etc/presence/config.toml",
    "/usr/bin/presence-gc",
    "/usr/bin/presence-server",
    "/usr/lib/systemd/system/presence-gc.service",
    "/usr/lib/systemd/system/presence-server.service",
    "/usr/share/doc/presence/README.md",
    "/usr/share/doc/presence/changelog.gz",
    "/usr/share/doc/presence/copyright",
    "/usr/share/doc/presence/operations.md",
    "/usr/share/doc/presence/security.md",
];

const DAEMONS: [&str; 2] = ["presence-server", "presence-gc"];

#[test]
fn lintian_reports_no_errors() {
    let output = Command::new("lintian")
        .args(["--display-info", "--pedantic", "--fail-on", "error"])
        .arg(deb())
        .stdin(Stdio::null())
        .output()
        .expect("lintian must be installed (apt-get install lintian)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Written past the test harness's capture: lintian's report is always shown.
    let _ = writeln!(std::io::stderr(), "lintian {}:\n{report}", deb().display());
    let errors: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with("E:"))
        .collect();
    assert!(
        output.status.success() && errors.is_empty(),
        "lintian found errors ({}):\n{}",
        output.status,
        errors.join("\n")
    );
}

#[test]
fn the_package_holds_both_daemons_their_units_the_config_and_docs() {
    let deb = deb();
    let arch = stdout_of(Command::new("dpkg").arg("--print-architecture"));
    assert_eq!(
        deb.file_name().unwrap().to_string_lossy(),
        format!("{NAME}_{VERSION}_{}.deb", arch.trim()),
        "the name README's `apt install` line gives"
    );
    assert_eq!(control_field(deb, "Package"), NAME);
    assert_eq!(
        control_field(deb, "Version"),
        VERSION,
        "the workspace version"
    );
    assert!(
        control_field(deb, "Depends").contains("adduser"),
        "postinst runs adduser"
    );

    let shipped = files(deb);
    let expected: BTreeSet<String> = FILES.iter().map(|path| path.to_string()).collect();
    assert_eq!(shipped, expected);
    assert_eq!(
        control_member(deb, "conffiles").trim(),
        CONFIG,
        "the config is a conffile, so upgrades keep the site owner's edits"
    );

    let dir = tempdir("contents");
    unpack(deb, &dir);
    assert!(
        read(&dir.join("etc/presence/config.toml")) == read(&workspace_root().join("config.toml")),
        "{CONFIG} must be the repository's config.toml, byte for byte"
    );
    assert_eq!(
        read(&dir.join("usr/share/doc/presence/copyright")),
        read(&workspace_root().join("deploy/debian/copyright"))
    );

    for daemon in DAEMONS {
        let unit = String::from_utf8(read(
            &dir.join(format!("usr/lib/systemd/system/{daemon}.service")),
        ))
        .unwrap();
        let exec_start = unit
            .lines()
            .find_map(|line| line.strip_prefix("ExecStart="))
            .unwrap_or_else(|| panic!("{daemon}.service has no ExecStart"));
        assert_eq!(exec_start, format!("/usr/bin/{daemon} --config {CONFIG}"));
        assert!(
            unit.lines().any(|line| line == format!("User={USER}")),
            "{daemon}.service runs as {USER}"
        );
        // The shipped binary is the real daemon of this version.
        let version = stdout_of(Command::new(dir.join("usr/bin").join(daemon)).arg("--version"));
        assert_eq!(version.trim(), format!("{daemon} {VERSION}"));
    }

    // The changelog is committed; its latest entry must name this version.
    let changelog = stdout_of(
        Command::new("gzip")
            .arg("--decompress")
            .arg("--stdout")
            .arg(dir.join("usr/share/doc/presence/changelog.gz")),
    );
    let latest = changelog.lines().next().unwrap_or_default();
    assert!(
        latest.starts_with(&format!("{NAME} ({VERSION}) ")),
        "deploy/debian/changelog's latest entry is `{latest}`, not version {VERSION}: \
         add an entry for it"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Installs the package as README "Install" says, runs both daemons from it, and
/// purges it. `dpkg -i` needs root: as another user this test fails, unless
/// `PRESENCE_TEST_SKIP_DPKG=1` asks to skip it, which it then says. The two tests
/// above need no root.
#[tokio::test]
async fn installs_runs_and_purges_without_a_trace() {
    if !running_as_root() {
        if std::env::var_os("PRESENCE_TEST_SKIP_DPKG").is_some() {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED installs_runs_and_purges_without_a_trace: not root, and \
                 PRESENCE_TEST_SKIP_DPKG is set"
            );
            return;
        }
        panic!(
            "this test installs the package with dpkg -i, which needs root (CI runs \
             as root). Run it as root, or set PRESENCE_TEST_SKIP_DPKG=1 to skip it."
        );
    }
    let deb = deb();
    let before = traces();
    let installed = Installed::install(deb);

    // The files, the conffile and the user.
    assert_eq!(dpkg_status().as_deref(), Some("install ok installed"));
    for file in FILES {
        assert!(Path::new(file).is_file(), "{file} is not installed");
    }
    let repo_config = read(&workspace_root().join("config.toml"));
    assert!(read(Path::new(CONFIG)) == repo_config);
    let conffiles =
        stdout_of(Command::new("dpkg-query").args(["--show", "--showformat=${Conffiles}", NAME]));
    assert_eq!(
        conffiles.trim(),
        format!("{CONFIG} {}", md5(&workspace_root().join("config.toml"))),
        "dpkg records the config as a conffile"
    );
    let user = getent("passwd", USER).expect("the package creates the presence user");
    let group = getent("group", USER).expect("and its group");
    let (uid, gid): (u32, u32) = (user[2].parse().unwrap(), group[2].parse().unwrap());
    assert!((100..1000).contains(&uid), "a system user: {user:?}");
    assert_eq!(user[3], gid.to_string(), "its own group");
    assert_eq!(
        (user[5].as_str(), user[6].as_str()),
        ("/nonexistent", "/usr/sbin/nologin"),
        "no home, no login"
    );
    assert!(!Path::new("/nonexistent").exists());
    assert_config_readable_by_root_and_presence_only(gid);

    // Nothing was started: the package starts nothing (README step 3 does), and
    // without systemd as PID 1, as here and in CI, its scripts never call systemctl.
    assert_eq!(
        running_daemons(),
        Vec::<PathBuf>::new(),
        "installing started a daemon"
    );

    // Both daemons run from the package as the presence user, on the installed
    // config. The listen addresses are overridden: the config's may be taken.
    let port = free_port();
    let server = AsUser::spawn(
        "/usr/bin/presence-server",
        (uid, gid),
        &[("PRESENCE_SERVER__LISTEN", format!("127.0.0.1:{port}"))],
    );
    answers(&format!("http://127.0.0.1:{port}/healthz")).await;
    answers(&format!("http://127.0.0.1:{port}/readyz")).await;
    let redis = RedisServer::start();
    let metrics_port = free_port();
    let gc = AsUser::spawn(
        "/usr/bin/presence-gc",
        (uid, gid),
        &[
            ("PRESENCE_REDIS__URL", redis.url()),
            (
                "PRESENCE_GC__METRICS_LISTEN",
                format!("127.0.0.1:{metrics_port}"),
            ),
        ],
    );
    answers(&format!("http://127.0.0.1:{metrics_port}/metrics")).await;
    drop((server, gc));

    // systemd finds the installed units by name on its unit path and accepts them
    // (verify also checks that ExecStart's binaries exist).
    let verify = Command::new("systemd-analyze")
        .args(["verify", "presence-server.service", "presence-gc.service"])
        .output()
        .expect("systemd-analyze must be installed (apt-get install systemd)");
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify: {complaints}"
    );

    // README step 2: the site owner edits the config. An upgrade (here: the same
    // version again) keeps the edit and the config's permissions, and the server
    // reads it: it listens where the edited file says, with no override.
    let port = free_port();
    let edited = String::from_utf8(repo_config.clone()).unwrap().replacen(
        "\nlisten = \"127.0.0.1:3000\"\n",
        &format!("\nlisten = \"127.0.0.1:{port}\"\n"),
        1,
    );
    assert!(
        edited.as_bytes() != repo_config,
        "config.toml has no [server] listen line"
    );
    std::fs::write(CONFIG, &edited).unwrap();
    installed.reinstall();
    assert!(
        read(Path::new(CONFIG)) == edited.as_bytes(),
        "the edit survives"
    );
    assert_config_readable_by_root_and_presence_only(gid);
    let server = AsUser::spawn("/usr/bin/presence-server", (uid, gid), &[]);
    answers(&format!("http://127.0.0.1:{port}/healthz")).await;
    // (userdel at purge refuses a user that still runs processes.)
    drop(server);

    // Removing keeps the configuration (and the user it is shared with)...
    let listed = installed.listed_paths();
    installed.remove();
    assert_eq!(dpkg_status().as_deref(), Some("deinstall ok config-files"));
    for daemon in DAEMONS {
        assert!(!Path::new("/usr/bin").join(daemon).exists());
    }
    assert!(read(Path::new(CONFIG)) == edited.as_bytes());
    assert!(getent("passwd", USER).is_some());

    // ...purging removes everything the package and its scripts added.
    installed.purge();
    assert_eq!(dpkg_status(), None, "dpkg forgot the package");
    assert_eq!(getent("passwd", USER), None, "the user is gone");
    assert_eq!(getent("group", USER), None, "the group is gone");
    assert_eq!(stat_override(CONFIG), None, "the stat override is gone");
    let shared_dirs = [
        "/etc",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/lib/systemd",
        "/usr/lib/systemd/system",
        "/usr/share",
        "/usr/share/doc",
    ];
    for path in listed
        .iter()
        .filter(|path| !shared_dirs.contains(&path.as_str()))
    {
        assert!(!Path::new(path).exists(), "{path} is left after purge");
    }
    assert_eq!(traces(), before, "files named presence left after purge");
}

/// `root:presence 0640`: the config may hold Redis passwords and tokens.
fn assert_config_readable_by_root_and_presence_only(gid: u32) {
    let meta = std::fs::metadata(CONFIG).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), format!("{:o}", meta.mode() & 0o777)),
        (0, gid, "640".to_string()),
        "{CONFIG} owner, group and mode"
    );
}

/// Waits until `url` answers 200.
async fn answers(url: &str) {
    eventually(
        &format!("{url} to answer 200"),
        Duration::from_secs(20),
        async || http_get(url).await.filter(|(status, _)| *status == 200),
    )
    .await;
}

/// Processes running an installed daemon.
fn running_daemons() -> Vec<PathBuf> {
    let daemons: Vec<PathBuf> = DAEMONS
        .iter()
        .map(|daemon| Path::new("/usr/bin").join(daemon))
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path().join("exe")).ok())
        .filter(|exe| daemons.contains(exe))
        .collect()
}

/// An installed daemon started directly (no systemd here) as the package's user,
/// with `--config /etc/presence/config.toml` as the unit gives it; killed on drop.
struct AsUser(Child);

impl AsUser {
    fn spawn(program: &str, (uid, gid): (u32, u32), env: &[(&str, String)]) -> Self {
        let child = Command::new(program)
            .args(["--config", CONFIG])
            .env_clear()
            .env("RUST_LOG", "error")
            .envs(env.iter().map(|(key, value)| (key, value)))
            .current_dir("/")
            .uid(uid)
            .gid(gid)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        Self(child)
    }
}

impl Drop for AsUser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn md5(path: &Path) -> String {
    let output = stdout_of(Command::new("md5sum").arg(path));
    output
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("presence-deb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
