//! The Debian package as a site owner gets it: built by `scripts/build-deb`, read
//! with `dpkg-deb`, and installed on this machine with `dpkg` for as long as an
//! [`Installed`] lives.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::binaries::workspace_root;

/// The package's name, as `dpkg` knows it.
pub const NAME: &str = "presence";

/// The system user (and group) the package creates for its units.
pub const USER: &str = "presence";

/// Path of the `.deb`, built (once per test process) by `scripts/build-deb`, the
/// command the README gives, so a test never reads a stale package.
pub fn deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        eprintln!("building the package: scripts/build-deb");
        let mut build = Command::new(workspace_root().join("scripts/build-deb"));
        // cargo test sets CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ... for this test
        // crate. Some build scripts (ring's) rerun when those change, so passing
        // them on would rebuild C code whenever a test and a shell take turns.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_PRIMARY_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            {
                build.env_remove(key.as_ref());
            }
        }
        let output = build
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/build-deb");
        assert!(output.status.success(), "scripts/build-deb failed");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let path = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        assert!(
            path.is_file(),
            "scripts/build-deb's last line is not the package: {stdout}"
        );
        path
    })
}

/// Runs a command to completion; panics with its output unless it succeeds.
pub fn run(command: &mut Command) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Standard output of a command that must succeed.
pub fn stdout_of(command: &mut Command) -> String {
    String::from_utf8_lossy(&run(command).stdout).into_owned()
}

/// One control field of the package (`Version`, `Depends`, ...).
pub fn control_field(deb: &Path, field: &str) -> String {
    stdout_of(Command::new("dpkg-deb").arg("--field").arg(deb).arg(field))
        .trim()
        .to_string()
}

/// One member of the control archive (`conffiles`, `postinst`, ...).
pub fn control_member(deb: &Path, member: &str) -> String {
    stdout_of(Command::new("dpkg-deb").arg("--info").arg(deb).arg(member))
}

/// The files (not directories) the package installs, as absolute paths.
pub fn files(deb: &Path) -> BTreeSet<String> {
    stdout_of(Command::new("dpkg-deb").arg("--contents").arg(deb))
        .lines()
        // "-rw-r--r-- root/root 4251 2026-11-29 11:41 ./etc/presence/config.toml"
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| !path.ends_with('/'))
        .map(|path| path.trim_start_matches('.').to_string())
        .collect()
}

/// Unpacks the package's files into `dir` (no maintainer scripts run).
pub fn unpack(deb: &Path, dir: &Path) {
    run(Command::new("dpkg-deb").arg("--extract").arg(deb).arg(dir));
}

/// Whether this process runs as root, which `dpkg -i` needs.
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// What `dpkg-query` says of the package: `install ok installed`,
/// `deinstall ok config-files`, or `None` when dpkg does not know it.
pub fn dpkg_status() -> Option<String> {
    let output = Command::new("dpkg-query")
        .args(["--show", "--showformat=${Status}", NAME])
        .stderr(Stdio::null())
        .output()
        .expect("run dpkg-query");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|status| !status.is_empty() && status != "unknown ok not-installed")
}

/// A `passwd` or `group` entry by name, split at `:`.
pub fn getent(database: &str, name: &str) -> Option<Vec<String>> {
    let output = Command::new("getent")
        .args([database, name])
        .output()
        .expect("run getent");
    let line = String::from_utf8_lossy(&output.stdout);
    let line = line.lines().next()?;
    Some(line.split(':').map(str::to_string).collect())
}

/// The `dpkg-statoverride` entry for a path, if any.
pub fn stat_override(path: &str) -> Option<String> {
    let output = Command::new("dpkg-statoverride")
        .args(["--list", path])
        .output()
        .expect("run dpkg-statoverride");
    let listed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !listed.is_empty()).then_some(listed)
}

/// Everything on this machine whose name mentions the package where a package
/// or its scripts would put something: a package that cleans up after itself
/// leaves this set as it found it.
pub fn traces() -> BTreeSet<PathBuf> {
    // Searched through: where dpkg, the maintainer scripts and deb-systemd-helper write.
    const DEEP: [&str; 5] = [
        "/etc/systemd",
        "/usr/lib/systemd",
        "/usr/share/doc",
        "/var/lib/systemd",
        "/var/lib/dpkg/info",
    ];
    // One level only: where a program's own directory or file would be.
    const SHALLOW: [&str; 11] = [
        "/etc",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/share",
        "/var/lib",
        "/var/log",
        "/var/cache",
        "/run",
        "/opt",
        "/srv",
    ];
    let mut found = BTreeSet::new();
    for root in DEEP {
        walk(Path::new(root), true, &mut found);
    }
    for root in SHALLOW {
        walk(Path::new(root), false, &mut found);
    }
    found
}

fn walk(dir: &Path, deep: bool, found: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().contains(NAME) {
            found.insert(path.clone());
        }
        // Symbolic links are recorded, never followed.
        if deep && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            walk(&path, deep, found);
        }
    }
}

/// The package installed with `dpkg -i`; purged when dropped, so a failing test
/// leaves the machine as it found it.
pub struct Installed {
    deb: PathBuf,
    purged: bool,
}

impl Installed {
    /// `dpkg -i`, after checking that nothing of a presence package is on the
    /// machine: the test removes what it installs, and must never remove a
    /// package, user or file that someone else put there.
    pub fn install(deb: &Path) -> Self {
        assert!(running_as_root(), "dpkg -i needs root");
        let leftovers: Vec<String> = [
            dpkg_status().map(|status| format!("dpkg knows the package ({status})")),
            getent("passwd", USER).map(|_| format!("a user {USER} exists")),
            getent("group", USER).map(|_| format!("a group {USER} exists")),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(
            leftovers.is_empty(),
            "this machine already has presence on it: {}. The test installs and \
             purges its own package; remove these first (dpkg --purge presence, \
             userdel presence).",
            leftovers.join("; ")
        );
        let installed = Self {
            deb: deb.to_path_buf(),
            purged: false,
        };
        installed.reinstall();
        installed
    }

    /// `dpkg -i` again, as an upgrade to the same version does.
    pub fn reinstall(&self) -> String {
        let output = run(Command::new("dpkg").arg("--install").arg(&self.deb));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The paths dpkg recorded for the package (directories included).
    pub fn listed_paths(&self) -> Vec<String> {
        stdout_of(Command::new("dpkg").args(["--listfiles", NAME]))
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `dpkg --remove`: the programs go, the configuration stays.
    pub fn remove(&self) {
        run(Command::new("dpkg").args(["--remove", NAME]));
    }

    /// `dpkg --purge`: everything goes.
    pub fn purge(mut self) {
        run(Command::new("dpkg").args(["--purge", NAME]));
        self.purged = true;
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.purged {
            let _ = Command::new("dpkg")
                .args(["--purge", NAME])
                .stdin(Stdio::null())
                .status();
        }
    }
}
