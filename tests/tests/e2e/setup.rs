//! The README's test command on a fresh machine: `scripts/test` installs the system
//! packages it lacks (as root, with apt-get) or names every missing one, with the
//! command that installs them, before anything is compiled.
//!
//! A fresh Debian machine is played by a PATH that holds only what the test puts
//! there: bash and the few core utilities the scripts use (the real ones), and
//! stand-ins for everything else. The stand-ins for `cargo`, `npm` and `apt-get`
//! write each call to a file, so the test sees what the command would have compiled
//! or installed, and nothing is. Each case is checked against the same machine with
//! nothing missing, which must reach `cargo test`: a missing tool is what stops it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use presence_tests::binaries::workspace_root;

/// What the `packages` file lists, as (package, command) for packages shown by a
/// command; packages shown by a path are left as they are on this machine.
fn listed_commands() -> Vec<(String, String)> {
    let list = std::fs::read_to_string(workspace_root().join("scripts/packages"))
        .expect("read scripts/packages");
    list.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let package = fields.next()?;
            let check = fields.next()?;
            (!check.starts_with('/')).then(|| (package.to_owned(), check.to_owned()))
        })
        .collect()
}

/// The tools the issue names: a fresh Debian machine has none of them.
const FRESH_MACHINE_LACKS: [(&str, &str); 4] = [
    ("redis-server", "redis-server"),
    ("chromium", "chromium"),
    ("php-cli", "php"),
    ("systemd", "systemd-analyze"),
];

/// Real programs the scripts run: the shell and core utilities every Debian has.
const CORE: [&str; 8] = [
    "bash", "env", "dirname", "sed", "cut", "sort", "head", "cat",
];

struct Machine {
    root: PathBuf,
    bin: PathBuf,
    calls: PathBuf,
}

struct Outcome {
    code: Option<i32>,
    stderr: String,
    calls: Vec<String>,
}

impl Machine {
    /// A machine with every listed tool, run by `uid`, without apt-get.
    fn new(label: &str, uid: u32) -> Self {
        let root =
            std::env::temp_dir().join(format!("presence-setup-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).expect("create the machine's bin");
        let machine = Self {
            calls: root.join("calls"),
            root,
            bin,
        };
        for tool in CORE {
            std::os::unix::fs::symlink(real(tool), machine.bin.join(tool)).expect("link a tool");
        }
        for (_, command) in listed_commands() {
            machine.stub(&command, "");
        }
        machine.stub("id", &format!("echo {uid}"));
        machine.stub("node", "echo v20.19.0");
        machine.stub("rustc", "echo 'rustc 1.95.0 (stand-in)'");
        machine.stub("npm", "echo \"npm $*\" >>\"$CALLS\"");
        machine.stub("cargo", "echo \"cargo $*\" >>\"$CALLS\"");
        machine
    }

    /// An executable `name` on the machine's PATH running `body`.
    fn stub(&self, name: &str, body: &str) {
        let path = self.bin.join(name);
        std::fs::write(&path, format!("#!{}\n{body}\n", real("bash").display()))
            .expect("write a stand-in");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make a stand-in executable");
    }

    fn remove(&self, name: &str) {
        std::fs::remove_file(self.bin.join(name)).expect("remove a tool");
    }

    /// apt-get that installs a package by putting a stand-in for its command (from
    /// scripts/packages) on PATH.
    fn with_apt_get(&self) {
        let list = workspace_root().join("scripts/packages");
        self.stub(
            "apt-get",
            &format!(
                r#"echo "apt-get $*" >>"$CALLS"
[[ $1 == install ]] || exit 0
for package in "$@"; do
  [[ $package == -* || $package == install ]] && continue
  check=$(sed -n "s/^$package[[:space:]]\+\([^[:space:]]*\).*/\1/p" {list})
  printf '#!/bin/sh\n' >"{bin}/$check" && {chmod} +x "{bin}/$check"
done"#,
                list = list.display(),
                bin = self.bin.display(),
                chmod = real("chmod").display()
            ),
        );
    }

    /// Runs the README's test command, `scripts/test`, with only this machine's PATH.
    fn run_readme_command(&self) -> Outcome {
        let _ = std::fs::remove_file(&self.calls);
        let output = Command::new(workspace_root().join("scripts/test"))
            .env_clear()
            .env("PATH", &self.bin)
            .env("CALLS", &self.calls)
            .current_dir(&self.root)
            .output()
            .expect("run scripts/test");
        let calls = std::fs::read_to_string(&self.calls).unwrap_or_default();
        Outcome {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            calls: calls.lines().map(str::to_owned).collect(),
        }
    }

    /// Whether `command` can be found on this machine's PATH.
    fn finds(&self, command: &str) -> bool {
        Command::new(self.bin.join("bash"))
            .args(["-c", &format!("command -v {command}")])
            .env_clear()
            .env("PATH", &self.bin)
            .output()
            .is_ok_and(|out| out.status.success())
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Outcome {
    /// Whether anything was built or installed from npm.
    fn compiled_anything(&self) -> bool {
        self.calls.iter().any(|call| {
            call.starts_with("npm ci")
                || ["fmt --all", "clippy --workspace", "test", "build"]
                    .iter()
                    .any(|step| call.starts_with(&format!("cargo {step}")))
        })
    }

    fn ran_the_tests(&self) -> bool {
        [
            "npm ci",
            "cargo fmt --all --check",
            "cargo clippy --workspace",
            "cargo test",
        ]
        .iter()
        .all(|step| self.calls.iter().any(|call| call.starts_with(step)))
    }
}

/// The program `name` on the real PATH.
fn real(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}

fn assert_names_each_missing_tool(outcome: &Outcome, install: &str) {
    for (package, command) in FRESH_MACHINE_LACKS {
        let line = format!("setup: {command} is missing (Debian package {package})");
        assert!(
            outcome.stderr.lines().any(|l| l == line),
            "{line:?} not in:\n{}",
            outcome.stderr
        );
    }
    let packages: Vec<&str> = FRESH_MACHINE_LACKS.iter().map(|(p, _)| *p).collect();
    let command = format!(
        "{install} -y --no-install-recommends {}",
        packages.join(" ")
    );
    assert!(
        outcome.stderr.contains(&command),
        "{command:?} not in:\n{}",
        outcome.stderr
    );
}

#[test]
fn with_everything_there_the_readme_command_runs_the_tests() {
    let machine = Machine::new("complete", 1000);
    let outcome = machine.run_readme_command();
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.ran_the_tests(), "{:?}", outcome.calls);
}

#[test]
fn a_user_without_root_is_told_every_missing_tool_before_anything_is_built() {
    let machine = Machine::new("user", 1000);
    machine.with_apt_get();
    for (_, command) in FRESH_MACHINE_LACKS {
        machine.remove(command);
        assert!(!machine.finds(command), "{command} is still found");
    }
    let outcome = machine.run_readme_command();
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert_names_each_missing_tool(&outcome, "sudo apt-get install");
    assert!(!outcome.compiled_anything(), "{:?}", outcome.calls);
    assert!(
        !outcome.calls.iter().any(|call| call.starts_with("apt-get")),
        "not root: apt-get is not run"
    );
}

#[test]
fn root_without_apt_is_told_every_missing_tool_and_rust() {
    let machine = Machine::new("no-apt", 0);
    for (_, command) in FRESH_MACHINE_LACKS {
        machine.remove(command);
    }
    machine.remove("cargo");
    let outcome = machine.run_readme_command();
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert_names_each_missing_tool(&outcome, "apt-get install");
    assert!(
        outcome
            .stderr
            .contains("setup: cargo is missing: install rustup"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.calls.is_empty(), "{:?}", outcome.calls);
}

#[test]
fn root_with_apt_installs_what_is_missing_and_runs_the_tests() {
    let machine = Machine::new("apt", 0);
    machine.with_apt_get();
    for (_, command) in FRESH_MACHINE_LACKS {
        machine.remove(command);
    }
    let outcome = machine.run_readme_command();
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let packages: Vec<&str> = FRESH_MACHINE_LACKS.iter().map(|(p, _)| *p).collect();
    let install = format!(
        "apt-get install -y -qq --no-install-recommends {}",
        packages.join(" ")
    );
    let apt: Vec<&String> = outcome
        .calls
        .iter()
        .filter(|call| call.starts_with("apt-get"))
        .collect();
    assert_eq!(apt, ["apt-get update -qq", install.as_str()]);
    assert!(outcome.ran_the_tests(), "{:?}", outcome.calls);

    // Run again: nothing is missing now, so apt-get is not called at all.
    let again = machine.run_readme_command();
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(
        !again.calls.iter().any(|call| call.starts_with("apt-get")),
        "{:?}",
        again.calls
    );
}

#[test]
fn node_older_than_20_is_named() {
    let machine = Machine::new("old-node", 1000);
    machine.stub("node", "echo v18.19.0");
    let outcome = machine.run_readme_command();
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("node v18.19.0 is older than 20"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.compiled_anything(), "{:?}", outcome.calls);
}

/// Checked here so a broken list fails loudly rather than making every case above
/// test nothing.
#[test]
fn the_package_list_names_the_tools_the_tests_run() {
    let commands: Vec<String> = listed_commands().into_iter().map(|(_, c)| c).collect();
    for (_, command) in FRESH_MACHINE_LACKS {
        assert!(
            commands.iter().any(|c| c == command),
            "{command} not listed"
        );
    }
    assert!(Path::new(&workspace_root().join("rust-toolchain.toml")).is_file());
}
