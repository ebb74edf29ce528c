//! A real WordPress for the plugin's end-to-end tests, in two versions:
//!
//! - [`Version::Debian`]: Debian's `wordpress` package (6.1.9, `/usr/share/wordpress`)
//!   on a private MariaDB ([`mariadb`]);
//! - [`Version::Playground`]: WordPress 6.5.5 from the npm package
//!   `@wp-playground/wordpress-builds` (a stripped build whose CSS, JS and images lie
//!   beside it), on SQLite through the SQLite integration plugin of the same package.
//!
//! Each site is a copy of the tree in a temporary directory with its own
//! `wp-config.php`, served by `php -S` (a few workers, [`router.php`] standing in for
//! the `.htaccess` rewrite rules) on a free loopback port, installed with
//! `wp_install` from the PHP CLI. Everything after that goes the way a site owner goes,
//! in headless Chromium (`tests/js/browser/wordpress-admin.mjs`): log in, activate the
//! plugin on the Plugins screen, save its settings form, choose permalinks, switch
//! themes, publish posts through the REST API as the editor does. Dropping the site
//! stops its processes and removes the directory.
//!
//! The site blocks requests to other hosts (`WP_HTTP_BLOCK_EXTERNAL`): no update
//! checks leave the machine, while the plugin's calls to a presence-server on
//! 127.0.0.1 go through.

pub mod hung;
mod mariadb;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::binaries::workspace_root;
use crate::logs::ChildLog;
use crate::node::{js_dir, node_script};
use crate::ports::free_port;

pub use hung::HungServer;
use mariadb::MariaDb;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "presence-test-password";
/// The plugin's directory in the repository, and its slug.
pub const PLUGIN_DIR: &str = "embed/wordpress/presence";
pub const PLUGIN: &str = "presence";

/// `php -S` workers: a few readers and the admin are served at once, as by a small
/// Apache (one worker would make every page wait for the one before).
const PHP_WORKERS: &str = "4";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Debian's `wordpress` package, 6.1.9, with MariaDB.
    Debian,
    /// WordPress 6.5.5 from `@wp-playground/wordpress-builds`, with SQLite.
    Playground,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::Debian => "6.1 (Debian)",
            Version::Playground => "6.5 (Playground build)",
        }
    }

    /// A short tag for file names: `wp61`, `wp65`.
    pub fn tag(self) -> &'static str {
        match self {
            Version::Debian => "wp61",
            Version::Playground => "wp65",
        }
    }
}

/// A published post: its id and its URL.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct Post {
    pub id: u64,
    pub link: String,
    pub title: String,
}

pub struct WordPress {
    pub version: Version,
    port: u16,
    dir: PathBuf,
    php: Option<Child>,
    php_log: Option<ChildLog>,
    _db: Option<MariaDb>,
}

impl WordPress {
    /// Lays out, installs and serves a fresh site with the plugin's files in
    /// `wp-content/plugins/presence` (not yet active), and logs the admin in.
    pub async fn start(version: Version) -> Self {
        let started = Instant::now();
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "presence-wp-{}-{port}-{}",
            version.tag(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the site's directory");
        let site = dir.join("site");
        let db = match version {
            Version::Debian => {
                // -L: the package links some scripts to other packages with relative
                // links (wp-includes/js/underscore.min.js → /usr/share/javascript/…).
                run("cp", &["-rL", "/usr/share/wordpress", &path(&site)]);
                // Debian's config reads /etc/wordpress/config-<host>.php; ours is below.
                let _ = std::fs::remove_file(site.join(".htaccess"));
                Some(MariaDb::start(&dir))
            }
            Version::Playground => {
                lay_out_playground(&site);
                None
            }
        };
        let mut wordpress = Self {
            version,
            port,
            dir,
            php: None,
            php_log: None,
            _db: db,
        };
        std::fs::write(site.join("wp-config.php"), wordpress.config())
            .expect("write wp-config.php");
        let mu_plugins = site.join("wp-content/mu-plugins");
        std::fs::create_dir_all(&mu_plugins).expect("create mu-plugins");
        std::fs::write(mu_plugins.join("server.php"), include_str!("server.php"))
            .expect("write the web server's mu-plugin");
        std::fs::write(wordpress.dir.join("router.php"), include_str!("router.php"))
            .expect("write router.php");
        let plugins = site.join("wp-content/plugins");
        run(
            "cp",
            &[
                "-r",
                &path(&workspace_root().join(PLUGIN_DIR)),
                &path(&plugins),
            ],
        );
        wordpress.install();
        wordpress.serve().await;
        wordpress
            .admin(serde_json::json!([{ "do": "login" }]))
            .await;
        println!(
            "WordPress {} at {} ready in {:.1} s",
            version.name(),
            wordpress.url(),
            started.elapsed().as_secs_f64()
        );
        wordpress
    }

    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The site's document root.
    pub fn root(&self) -> PathBuf {
        self.dir.join("site")
    }

    /// The admin's browser state (cookies) that the node scripts share.
    pub fn admin_state(&self) -> PathBuf {
        self.dir.join("admin-state.json")
    }

    /// What WordPress wrote to `wp-content/debug.log` (PHP notices, warnings, errors).
    pub fn debug_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("debug.log")).unwrap_or_default()
    }

    /// The lines of the debug log that name the plugin's files.
    pub fn plugin_messages(&self) -> Vec<String> {
        self.debug_log()
            .lines()
            .filter(|line| line.contains("/plugins/presence/"))
            .map(str::to_string)
            .collect()
    }

    /// Runs admin steps in Chromium as the logged-in admin (see
    /// `tests/js/browser/wordpress-admin.mjs` for the steps) and returns each step's
    /// result, in order.
    pub async fn admin(&self, steps: Value) -> Vec<Value> {
        self.steps("browser/wordpress-admin.mjs", steps).await
    }

    /// Saves one item of `kind` ("posts" or "pages") through the REST API as the editor
    /// does, published unless `fields` (title, content, …) give another status, and
    /// returns it: `{ id, link, title }`.
    pub async fn publish(&self, kind: &str, fields: Value) -> Value {
        let done = self
            .admin(serde_json::json!([{ "do": "publish", "type": kind, "posts": [fields] }]))
            .await;
        done[0][0].clone()
    }

    /// Runs `steps` with `script`, a steps script of `tests/js/` (WP_STEPS in, one JSON
    /// line of results out), and returns each step's result, in order.
    pub async fn steps(&self, script: &str, steps: Value) -> Vec<Value> {
        let output = self.node(script, &[("WP_STEPS", &steps.to_string())]).await;
        let last = output.lines().last().unwrap_or_default();
        let results: Value = serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{output}"));
        results.as_array().cloned().unwrap_or_default()
    }

    /// The setup every test starts from: activate the plugin on the Plugins screen,
    /// save `settings` through its form, choose "Post name" permalinks, switch to
    /// `theme`, and publish one post per title. Returns the posts.
    pub async fn set_up(
        &self,
        settings: &[(&str, &str)],
        theme: &str,
        titles: &[&str],
    ) -> Vec<Post> {
        let fields: serde_json::Map<String, Value> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        let posts: Vec<Value> = titles
            .iter()
            .map(|title| {
                serde_json::json!({
                    "title": title,
                    "content": format!("<!-- wp:paragraph -->\n<p>{title}: a post to read.</p>\n<!-- /wp:paragraph -->"),
                })
            })
            .collect();
        let results = self
            .admin(serde_json::json!([
                { "do": "activate", "plugin": PLUGIN },
                { "do": "settings", "fields": fields },
                { "do": "permalinks", "structure": "/%postname%/" },
                { "do": "theme", "slug": theme },
                { "do": "publish", "posts": posts },
            ]))
            .await;
        let published = results.last().cloned().unwrap_or_default();
        serde_json::from_value(published).expect("the published posts")
    }

    /// Runs a node script of `tests/js` with `WP_URL`, `WP_STATE` (the admin's
    /// cookies) and the admin's name and password in its environment.
    pub async fn node(&self, script: &str, env: &[(&str, &str)]) -> String {
        let url = self.url();
        let state = path(&self.admin_state());
        let mut all = vec![
            ("WP_URL", url.as_str()),
            ("WP_STATE", state.as_str()),
            ("WP_USER", ADMIN_USER),
            ("WP_PASSWORD", ADMIN_PASSWORD),
            ("WP_VERSION", self.version.tag()),
        ];
        all.extend_from_slice(env);
        node_script(script, &all).await
    }

    fn config(&self) -> String {
        let db = match &self._db {
            Some(db) => format!(
                "define( 'DB_NAME', '{}' );\ndefine( 'DB_USER', 'root' );\ndefine( 'DB_PASSWORD', '' );\ndefine( 'DB_HOST', '{}' );\n",
                db.database, db.host
            ),
            None => "define( 'DB_NAME', 'wordpress' );\ndefine( 'DB_USER', '' );\ndefine( 'DB_PASSWORD', '' );\ndefine( 'DB_HOST', '' );\ndefine( 'DB_DIR', __DIR__ . '/wp-content/database/' );\ndefine( 'DB_FILE', '.ht.sqlite' );\n".to_string(),
        };
        format!(
            r#"<?php
// Written by the tests (tests/src/wordpress/mod.rs).
{db}define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as $presence_key ) {{
	define( $presence_key, 'presence-test-' . $presence_key . '-{port}' );
}}
$table_prefix = 'wp_';
define( 'WP_HOME', '{url}' );
define( 'WP_SITEURL', '{url}' );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'FS_METHOD', 'direct' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', '{log}' );
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"#,
            port = self.port,
            url = self.url(),
            log = path(&self.dir.join("debug.log")),
        )
    }

    fn install(&self) {
        std::fs::write(self.dir.join("install.php"), include_str!("install.php"))
            .expect("write install.php");
        crate::package::run(
            Command::new("php")
                .args(["-d", "display_errors=stderr"])
                .args(["-d", "error_reporting=E_ALL & ~E_DEPRECATED"])
                .arg(self.dir.join("install.php"))
                .arg(self.root())
                .arg(ADMIN_PASSWORD),
        );
    }

    async fn serve(&mut self) {
        // php's workers outlive their master when it is killed, so all of them run in
        // a process group of their own: dropping the site kills the group, and so does
        // the shell when the test process dies first (setpriv's death signal).
        // opcache checks a file's time only every revalidate_freq seconds (2 by default),
        // so a request just after a test rewrites wp-config.php (the multisite test does)
        // could run the old one: revalidate on every request.
        let php = format!(
            "php -d opcache.enable_cli=1 -d opcache.revalidate_freq=0 -d memory_limit=256M -d display_errors=0 -d log_errors=1 \
             -d upload_max_filesize=32M -d post_max_size=32M -S 127.0.0.1:{} -t '{}' '{}'",
            self.port,
            path(&self.root()),
            path(&self.dir.join("router.php")),
        );
        let mut child = Command::new("setsid")
            .args(["setpriv", "--pdeathsig", "TERM", "sh", "-c"])
            .arg(format!("trap 'kill -KILL 0' TERM; {php} & wait"))
            .env("PHP_CLI_SERVER_WORKERS", PHP_WORKERS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start php -S");
        self.php_log = Some(ChildLog::capture("php-server", &mut child));
        self.php = Some(child);
        let login = format!("{}/wp-login.php", self.url());
        crate::eventually("WordPress to answer", Duration::from_secs(30), async || {
            crate::binaries::http_get(&login)
                .await
                .filter(|(status, _)| *status == 200)
        })
        .await;
    }
}

impl Drop for WordPress {
    fn drop(&mut self) {
        if let Some(mut child) = self.php.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!(
                "WordPress {} kept in {} (debug.log there)",
                self.version.name(),
                self.dir.display()
            );
        }
    }
}

/// The npm package's directory.
fn playground_builds() -> PathBuf {
    let dir = js_dir().join("node_modules/@wp-playground/wordpress-builds");
    assert!(
        dir.exists(),
        "{} is missing: run `npm ci --prefix tests/js` (the README's test command does)",
        dir.display()
    );
    dir
}

/// WordPress 6.5 from the Playground build: the zip, its assets laid over it, no
/// shipped config or database, the SQLite integration plugin and its `db.php` drop-in,
/// and the themes the build lacks from Debian's theme packages.
fn lay_out_playground(site: &Path) {
    let builds = playground_builds();
    let zip = builds.join("src/wordpress/wp-6.5.zip");
    run("unzip", &["-q", &path(&zip), "-d", &path(site)]);
    run(
        "cp",
        &[
            "-a",
            &format!("{}/.", path(&builds.join("public/wp-6.5"))),
            &path(site),
        ],
    );
    let _ = std::fs::remove_file(site.join("wp-config.php"));
    let _ = std::fs::remove_dir_all(site.join("wp-content/database"));
    std::fs::create_dir_all(site.join("wp-content/database")).expect("create the database dir");
    let plugins = site.join("wp-content/plugins");
    let sqlite_zip = builds.join("src/sqlite-database-integration/sqlite-database-integration.zip");
    run("unzip", &["-q", &path(&sqlite_zip), "-d", &path(&plugins)]);
    let sqlite = plugins.join("sqlite-database-integration");
    std::fs::rename(plugins.join("sqlite-database-integration-main"), &sqlite)
        .expect("rename the SQLite plugin's directory");
    let dropin = std::fs::read_to_string(sqlite.join("db.copy"))
        .expect("the SQLite plugin's db.copy")
        .replace("{SQLITE_IMPLEMENTATION_FOLDER_PATH}", &path(&sqlite))
        .replace("{SQLITE_PLUGIN}", "sqlite-database-integration/load.php");
    std::fs::write(site.join("wp-content/db.php"), dropin).expect("write db.php");
    // The build carries Twenty Twenty-Two to -Four; Twenty Twenty-One (classic) comes
    // from Debian's wordpress-theme-twentytwentyone.
    for theme in ["twentytwentyone", "twentytwentythree"] {
        let target = site.join("wp-content/themes").join(theme);
        if !target.join("style.css").exists() {
            let debian = Path::new("/usr/share/wordpress/wp-content/themes").join(theme);
            assert!(
                debian.exists(),
                "{} is missing: install Debian's wordpress-theme-{theme} (scripts/setup does)",
                debian.display()
            );
            run("cp", &["-a", &path(&debian), &path(&target)]);
        }
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs a command that must succeed.
fn run(program: &str, args: &[&str]) {
    crate::package::run(Command::new(program).args(args));
}
