//! The WordPress plugin as it is released (issues 18 and 20): the zip a site owner
//! uploads, built by `scripts/build-plugin-zip`; one version everywhere it is written;
//! the headers WordPress.org reads in `readme.txt`; the coding-standards configuration
//! following the plugin header; and the committed translation template, which
//! `scripts/build-pot` must reproduce.
//!
//! A test binary of its own: it needs no server, only the scripts, git, `unzip` and
//! gettext, and it builds in seconds.

// A test's unwrap is its assertion.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use presence_tests::binaries::workspace_root;

const PLUGIN: &str = "embed/wordpress/presence";

/// A directory of this test's own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "presence-plugin-release-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a command from the workspace root; panics with its output unless it succeeds.
fn run(program: &str, args: &[&str]) -> Output {
    presence_tests::package::run(
        Command::new(program)
            .args(args)
            .current_dir(workspace_root()),
    )
}

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path))
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The value of a `Name: value` header line, as WordPress reads the plugin header
/// (` * Version: 1.3.0`) and readme.txt (`Stable tag: 1.3.0`): the first such line.
fn header(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim_start_matches([' ', '\t', '*', '/', '#', '@']);
        let value = line.strip_prefix(name)?.strip_prefix(':')?;
        Some(value.trim().to_owned())
    })
}

/// The plugin's version, as its header says.
fn plugin_version() -> String {
    header(&read(&format!("{PLUGIN}/presence.php")), "Version").expect("a Version header")
}

/// Builds the zip into a fresh directory with the command the README gives.
fn build_zip(dist: &Path) -> PathBuf {
    let output = run("scripts/build-plugin-zip", &[dist.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
}

/// Paths of the zip's entries (directories end with `/`).
fn zip_entries(zip: &Path) -> Vec<String> {
    let output = run("unzip", &["-Z1", zip.to_str().unwrap()]);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What a site never needs: tests, dependency manifests, tool configurations, dotfiles.
fn is_dev_file(entry: &str) -> bool {
    let parts: Vec<&str> = entry.split('/').filter(|part| !part.is_empty()).collect();
    let name = parts.last().copied().unwrap_or_default();
    parts.iter().any(|part| {
        part.starts_with('.') || ["tests", "test", "node_modules", "vendor"].contains(part)
    }) || [
        "composer.json",
        "composer.lock",
        "package.json",
        "package-lock.json",
        "phpcs.xml",
        "phpcs.xml.dist",
        "phpunit.xml",
        "phpunit.xml.dist",
        "Makefile",
    ]
    .contains(&name)
        || name.ends_with(".md")
}

#[test]
fn the_zip_is_named_by_the_one_version_the_plugin_carries() {
    let main = read(&format!("{PLUGIN}/presence.php"));
    let readme = read(&format!("{PLUGIN}/readme.txt"));
    let version = plugin_version();
    let constant = main
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("define( 'PRESENCE_VERSION', '")?
                .strip_suffix("' );")
        })
        .expect("define( 'PRESENCE_VERSION', '…' ); in presence.php");
    let stable = header(&readme, "Stable tag").expect("readme.txt's Stable tag");
    println!(
        "plugin header Version {version}, readme.txt Stable tag {stable}, PRESENCE_VERSION {constant}"
    );
    assert_eq!(
        stable, version,
        "readme.txt Stable tag vs the plugin header"
    );
    assert_eq!(constant, version, "PRESENCE_VERSION vs the plugin header");

    let dist = TempDir::new("name");
    let zip = build_zip(&dist.0);
    println!("built {}", zip.display());
    assert_eq!(zip, dist.0.join(format!("presence-{version}.zip")));
    assert!(zip.is_file());
}

#[test]
fn the_zip_holds_the_plugin_folder_and_nothing_a_site_does_not_need() {
    let dist = TempDir::new("contents");
    let zip = build_zip(&dist.0);
    run("unzip", &["-tq", zip.to_str().unwrap()]);
    let entries = zip_entries(&zip);
    println!("{} entries:\n{}", entries.len(), entries.join("\n"));

    let outside: Vec<&String> = entries
        .iter()
        .filter(|entry| !entry.starts_with("presence/"))
        .collect();
    assert!(
        outside.is_empty(),
        "entries outside the presence/ folder: {outside:?}"
    );
    let dev: Vec<&String> = entries.iter().filter(|entry| is_dev_file(entry)).collect();
    assert!(dev.is_empty(), "dev files in the zip: {dev:?}");

    // Every file of the plugin folder that git tracks and a site needs, and no other.
    let tracked = run("git", &["ls-files", "--", PLUGIN]);
    let expected: BTreeSet<String> = String::from_utf8_lossy(&tracked.stdout)
        .lines()
        .filter_map(|path| path.strip_prefix(&format!("{PLUGIN}/")))
        .filter(|path| !is_dev_file(path))
        .map(|path| format!("presence/{path}"))
        .collect();
    let files: BTreeSet<String> = entries
        .iter()
        .filter(|entry| !entry.ends_with('/'))
        .cloned()
        .collect();
    assert_eq!(
        files, expected,
        "the zip's files vs the plugin's tracked files"
    );
    for needed in [
        "presence/presence.php",
        "presence/readme.txt",
        "presence/uninstall.php",
        "presence/languages/presence.pot",
    ] {
        assert!(files.contains(needed), "{needed} is missing from the zip");
    }
}

#[test]
fn the_same_commit_gives_the_same_zip() {
    let first = TempDir::new("first");
    let second = TempDir::new("second");
    let a = std::fs::read(build_zip(&first.0)).unwrap();
    let b = std::fs::read(build_zip(&second.0)).unwrap();
    assert!(a == b, "two builds of one tree differ");
}

#[test]
fn readme_txt_has_the_headers_wordpress_org_reads() {
    let readme = read(&format!("{PLUGIN}/readme.txt"));
    let main = read(&format!("{PLUGIN}/presence.php"));
    for name in [
        "Contributors",
        "Tags",
        "Requires at least",
        "Tested up to",
        "Requires PHP",
        "Stable tag",
        "License",
        "License URI",
    ] {
        let value = header(&readme, name).unwrap_or_default();
        assert!(!value.is_empty(), "readme.txt has no {name} header");
    }
    let tested = header(&readme, "Tested up to").unwrap();
    let numbers: Vec<u32> = tested.split('.').filter_map(|n| n.parse().ok()).collect();
    assert!(
        numbers.as_slice() >= [6, 5].as_slice(),
        "Tested up to {tested}: WordPress.org wants 6.5 or later"
    );
    for name in ["Requires at least", "Requires PHP"] {
        assert_eq!(
            header(&readme, name),
            header(&main, name),
            "{name}: readme.txt vs the plugin header"
        );
    }
    assert!(
        readme.contains("== External services =="),
        "readme.txt has no External services section"
    );
    // An Author or Plugin URI is either real or absent, never a placeholder.
    for name in ["Author", "Author URI", "Plugin URI"] {
        if let Some(value) = header(&main, name) {
            assert!(
                !value.is_empty() && !value.contains("example."),
                "plugin header {name}: {value}"
            );
        }
    }
    assert_eq!(header(&main, "Text Domain").as_deref(), Some("presence"));
    assert_eq!(header(&main, "Domain Path").as_deref(), Some("/languages"));
}

#[test]
fn the_coding_standards_check_the_php_and_wordpress_versions_the_plugin_requires() {
    let main = read(&format!("{PLUGIN}/presence.php"));
    let ruleset = read("embed/wordpress/.phpcs.xml.dist");
    let config = |name: &str| -> String {
        let start = format!("<config name=\"{name}\" value=\"");
        let rest = ruleset
            .split(&start)
            .nth(1)
            .unwrap_or_else(|| panic!("no {name} in .phpcs.xml.dist"));
        rest[..rest.find('"').unwrap()].to_owned()
    };
    let php = header(&main, "Requires PHP").unwrap();
    let wordpress = header(&main, "Requires at least").unwrap();
    assert_eq!(config("testVersion"), format!("{php}-"));
    assert_eq!(config("minimum_wp_version"), wordpress);
}

#[test]
fn the_committed_translation_template_is_current() {
    let dir = TempDir::new("pot");
    let fresh = dir.0.join("presence.pot");
    run("scripts/build-pot", &[fresh.to_str().unwrap()]);
    let committed_path = format!("{PLUGIN}/languages/presence.pot");
    let comparable = |text: &str| -> String {
        text.lines()
            .filter(|line| !line.starts_with("\"POT-Creation-Date:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let committed = comparable(&read(&committed_path));
    let rebuilt = comparable(&std::fs::read_to_string(&fresh).unwrap());
    if committed != rebuilt {
        let diff = Command::new("diff")
            .args(["-u", &committed_path, fresh.to_str().unwrap()])
            .current_dir(workspace_root())
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .unwrap_or_default();
        panic!("{committed_path} is out of date: run scripts/build-pot and commit it\n{diff}");
    }
    let strings = rebuilt.matches("\nmsgid ").count();
    println!("{committed_path}: {strings} strings, current");
    assert!(strings > 10, "the template holds only {strings} strings");
}
