//! Typed configuration shared by both binaries.
//!
//! Layered as the design says: built-in defaults, then `config.toml` (or `--config
//! PATH`), then `PRESENCE_<SECTION>__<KEY>` environment variables. Values are checked
//! once at start; a bad one stops the process with a single line naming the key, the
//! value and what is allowed, because an operator reading a systemd journal should
//! not have to guess. Nothing is silently ignored: a file that cannot be read, an
//! unknown key or section, and a `PRESENCE_` variable that names no setting are
//! errors too.

mod address;
mod describe;
pub mod environment;
mod file;
mod names;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use address::SOCKET_ADDRESS;
use names::{closest, is_secret};

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "config.toml";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub redis: RedisConfig,
    pub session: SessionConfig,
    pub fanout: FanoutConfig,
    pub gc: GcConfig,
    pub security: SecurityConfig,
    pub notices: NoticesConfig,
    pub dashboard: DashboardConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    #[serde(deserialize_with = "address::socket_addr")]
    pub listen: SocketAddr,
    /// Name of this process in logs; empty means `<hostname>-<pid>`.
    pub node: String,
    pub websocket_only: bool,
    pub ping_interval_secs: u64,
    pub ping_timeout_secs: u64,
    pub max_batch_ids: usize,
    pub shutdown_timeout_secs: u64,
    /// Seconds a connection may take to send a request head, and may stay idle
    /// between requests, before it is closed.
    pub header_timeout_secs: u64,
    /// Seconds a new Engine.IO session has to join the Socket.IO namespace before
    /// it is closed and its memory released.
    pub connect_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            node: String::new(),
            websocket_only: false,
            ping_interval_secs: 10,
            ping_timeout_secs: 10,
            max_batch_ids: 100,
            shutdown_timeout_secs: 10,
            header_timeout_secs: 10,
            connect_timeout_secs: 10,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// One URL; in cluster mode, one or more seed nodes separated by commas.
    pub url: String,
    pub mode: RedisMode,
    pub key_prefix: String,
    pub pool_size: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            mode: RedisMode::Single,
            key_prefix: String::new(),
            pool_size: 4,
        }
    }
}

impl RedisConfig {
    /// The URLs in `url`: one for a single Redis, the seed nodes of a cluster.
    pub fn urls(&self) -> Vec<&str> {
        self.url
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect()
    }
}

/// One Redis (or a primary with replicas behind a proxy), or a Redis Cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisMode {
    #[default]
    Single,
    Cluster,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub ttl_secs: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { ttl_secs: 20 }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FanoutConfig {
    pub max_interval_ms: u64,
    pub small_room: usize,
}

impl Default for FanoutConfig {
    fn default() -> Self {
        Self {
            max_interval_ms: 1000,
            small_room: 100,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcConfig {
    pub sweep_interval_secs: u64,
    pub batch_size: usize,
    /// Address of gc's `/metrics` endpoint; empty turns it off.
    pub metrics_listen: String,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            sweep_interval_secs: 30,
            batch_size: 500,
            metrics_listen: "127.0.0.1:9101".to_owned(),
        }
    }
}

/// Limits and checks for a public service facing hostile clients; see
/// docs/security.md.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Origins allowed to connect and to call the API: exact (`https://blog.example.com`)
    /// or one leading wildcard label (`https://*.example.com`). Empty: any origin.
    pub allowed_origins: Vec<String>,
    /// Peers (load balancers) whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "address::ip_addrs")]
    pub trusted_proxies: Vec<IpAddr>,
    pub max_connections_per_ip: usize,
    pub viewing_per_second: u32,
    pub max_posts_per_socket: usize,
    pub max_watch_posts: usize,
    pub max_message_bytes: usize,
    /// Shared secret for signed views; empty: tokens are not checked.
    pub view_secret: String,
    pub require_signed_views: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            max_connections_per_ip: 100,
            viewing_per_second: 5,
            max_posts_per_socket: 50,
            max_watch_posts: 50,
            max_message_bytes: 4096,
            view_secret: String::new(),
            require_signed_views: false,
        }
    }
}

/// Notices pushed to readers; see docs/notices.md.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoticesConfig {
    /// Bearer token for the notice endpoints; empty turns them off.
    pub token: String,
    pub max_text_chars: usize,
    pub per_post_per_minute: u32,
    pub site_per_minute: u32,
}

impl Default for NoticesConfig {
    fn default() -> Self {
        Self {
            token: String::new(),
            max_text_chars: 280,
            per_post_per_minute: 6,
            site_per_minute: 2,
        }
    }
}

/// The editors' live dashboard; see docs/dashboard.md.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// Password (basic auth, any user name) or bearer token; empty turns the
    /// dashboard off.
    pub token: String,
    pub history_step_secs: u64,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            token: String::new(),
            history_step_secs: 30,
        }
    }
}

impl DashboardConfig {
    /// The chart's window: the last hour.
    pub const HISTORY_WINDOW: Duration = Duration::from_secs(3600);

    pub fn history_step(&self) -> Duration {
        Duration::from_secs(self.history_step_secs)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// A configuration that cannot be used. `Display` is the one line printed at start.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config: {path}: file not found", path = .0.display())]
    MissingFile(PathBuf),
    #[error("config: {path}: is a directory; --config takes a TOML file", path = .0.display())]
    NotAFile(PathBuf),
    #[error("config: {path}: cannot read it: {reason}", path = .path.display())]
    UnreadableFile { path: PathBuf, reason: String },
    #[error("config: {path}:{line}:{column}: {message}", path = .path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// `key` as the user wrote it: a dotted key, or the environment variable;
    /// `origin` is empty or ` (in FILE)`.
    #[error("config: {key} = {value}{origin}: {allowed}")]
    Invalid {
        key: String,
        value: String,
        allowed: String,
        origin: String,
    },
    #[error(
        "config: {variable} = {value}: no such setting; {}",
        match closest {
            Some(meant) => format!("did you mean {meant}?"),
            None => "settings are PRESENCE_<SECTION>__<KEY>, every one listed in config.toml".to_owned(),
        }
    )]
    UnknownVariable {
        variable: String,
        value: String,
        closest: Option<String>,
    },
    #[error("config: {0}")]
    Unreadable(String),
}

impl ConfigError {
    fn invalid(key: &str, value: impl ToString, allowed: &str) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            value: value.to_string(),
            allowed: allowed.to_owned(),
            origin: String::new(),
        }
    }
}

impl Config {
    /// Loads `path` (or `./config.toml` if present) under the process environment,
    /// after checking the file and that every `PRESENCE_` variable names a setting.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let default = Path::new(DEFAULT_CONFIG_FILE);
        let file = match path {
            Some(path) => Some(path),
            // Only in the working directory (figment's `Toml::file` would also
            // search every parent directory), and only if it is there.
            None => std::fs::symlink_metadata(default)
                .is_ok()
                .then_some(default),
        };
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            file::check(file)?;
            figment = figment.merge(Toml::file_exact(file));
        }
        environment::check(std::env::vars_os(), &Self::keys())?;
        let variables = Env::prefixed(environment::PREFIX)
            .filter(|name| !environment::is_not_setting(name.as_str()))
            .split("__");
        Self::from_figment(figment.merge(variables))
    }

    /// Extracts and validates; tests use this with figment's in-memory providers.
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|error| describe::describe(error, &figment, &Self::keys()))?;
        config.validate().map_err(|error| match error {
            ConfigError::Invalid {
                key,
                value,
                allowed,
                ..
            } => describe::invalid_at(&figment, &key, value, allowed),
            other => other,
        })?;
        Ok(config)
    }

    /// Every setting, `section.key`, sorted.
    pub fn keys() -> Vec<String> {
        let Ok(serde_json::Value::Object(sections)) = serde_json::to_value(Config::default())
        else {
            return Vec::new();
        };
        sections
            .iter()
            .flat_map(|(section, keys)| {
                keys.as_object()
                    .into_iter()
                    .flat_map(|keys| keys.keys())
                    .map(move |key| format!("{section}.{key}"))
            })
            .collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_redis_urls()?;
        let prefix = &self.redis.key_prefix;
        if prefix.len() > 64
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_:-.".contains(&b))
        {
            return Err(ConfigError::invalid(
                "redis.key_prefix",
                format!("{prefix:?}"),
                "at most 64 characters of A-Z a-z 0-9 _ : - .",
            ));
        }
        check_range("redis.pool_size", self.redis.pool_size as u64, 1, 1024)?;
        check_range("session.ttl_secs", self.session.ttl_secs, 3, 86_400)?;
        check_range(
            "server.ping_interval_secs",
            self.server.ping_interval_secs,
            1,
            300,
        )?;
        check_range(
            "server.ping_timeout_secs",
            self.server.ping_timeout_secs,
            1,
            300,
        )?;
        check_range(
            "server.max_batch_ids",
            self.server.max_batch_ids as u64,
            1,
            1000,
        )?;
        check_range(
            "server.shutdown_timeout_secs",
            self.server.shutdown_timeout_secs,
            1,
            300,
        )?;
        check_range(
            "server.header_timeout_secs",
            self.server.header_timeout_secs,
            1,
            300,
        )?;
        check_range(
            "server.connect_timeout_secs",
            self.server.connect_timeout_secs,
            1,
            300,
        )?;
        check_range(
            "fanout.max_interval_ms",
            self.fanout.max_interval_ms,
            10,
            60_000,
        )?;
        check_range(
            "fanout.small_room",
            self.fanout.small_room as u64,
            1,
            1_000_000,
        )?;
        check_range(
            "gc.sweep_interval_secs",
            self.gc.sweep_interval_secs,
            1,
            86_400,
        )?;
        check_range("gc.batch_size", self.gc.batch_size as u64, 10, 10_000)?;
        if !self.gc.metrics_listen.is_empty()
            && self.gc.metrics_listen.parse::<SocketAddr>().is_err()
        {
            return Err(ConfigError::invalid(
                "gc.metrics_listen",
                format!("{:?}", self.gc.metrics_listen),
                "an address:port such as 127.0.0.1:9101, or empty to turn metrics off",
            ));
        }
        self.validate_security()?;
        let notices = &self.notices;
        if !notices.token.is_empty() && notices.token.len() < 16 {
            return Err(ConfigError::invalid(
                "notices.token",
                "(hidden)",
                "at least 16 characters (a long random string), or empty to turn notices off",
            ));
        }
        check_range(
            "notices.max_text_chars",
            notices.max_text_chars as u64,
            1,
            2000,
        )?;
        check_range(
            "notices.per_post_per_minute",
            u64::from(notices.per_post_per_minute),
            1,
            600,
        )?;
        check_range(
            "notices.site_per_minute",
            u64::from(notices.site_per_minute),
            1,
            600,
        )?;
        let dashboard = &self.dashboard;
        if !dashboard.token.is_empty() && dashboard.token.len() < 16 {
            return Err(ConfigError::invalid(
                "dashboard.token",
                "(hidden)",
                "at least 16 characters (a long random string), or empty to turn the dashboard off",
            ));
        }
        check_range(
            "dashboard.history_step_secs",
            dashboard.history_step_secs,
            1,
            600,
        )?;
        if self.server.node.len() > 64 || self.server.node.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "server.node",
                format!("{:?}", self.server.node),
                "at most 64 printable characters",
            ));
        }
        Ok(())
    }

    fn validate_redis_urls(&self) -> Result<(), ConfigError> {
        let redis = &self.redis;
        let urls = redis.urls();
        let well_formed = |url: &&str| url.starts_with("redis://") || url.starts_with("rediss://");
        if !urls.iter().all(well_formed) {
            return Err(ConfigError::invalid(
                "redis.url",
                format!("{:?}", names::without_passwords(&redis.url)),
                "must start with redis:// or rediss://, or be empty for the in-memory store",
            ));
        }
        match redis.mode {
            RedisMode::Single if urls.len() > 1 => Err(ConfigError::invalid(
                "redis.url",
                format!("{:?}", names::without_passwords(&redis.url)),
                "one URL; several (comma-separated) only with redis.mode = \"cluster\"",
            )),
            RedisMode::Cluster if urls.is_empty() => Err(ConfigError::invalid(
                "redis.mode",
                "\"cluster\"",
                "needs the cluster's seed nodes in redis.url",
            )),
            _ => Ok(()),
        }
    }

    fn validate_security(&self) -> Result<(), ConfigError> {
        let security = &self.security;
        for origin in &security.allowed_origins {
            if !crate::origin::is_valid_pattern(origin) {
                return Err(ConfigError::invalid(
                    "security.allowed_origins",
                    format!("{origin:?}"),
                    "each entry is scheme://host[:port], optionally with one leading \"*.\" label, e.g. https://*.example.com",
                ));
            }
        }
        check_range(
            "security.max_connections_per_ip",
            security.max_connections_per_ip as u64,
            1,
            1_000_000,
        )?;
        check_range(
            "security.viewing_per_second",
            u64::from(security.viewing_per_second),
            1,
            1000,
        )?;
        check_range(
            "security.max_posts_per_socket",
            security.max_posts_per_socket as u64,
            1,
            100_000,
        )?;
        check_range(
            "security.max_watch_posts",
            security.max_watch_posts as u64,
            1,
            1000,
        )?;
        check_range(
            "security.max_message_bytes",
            security.max_message_bytes as u64,
            128,
            65_536,
        )?;
        if !security.view_secret.is_empty() && security.view_secret.len() < 16 {
            return Err(ConfigError::invalid(
                "security.view_secret",
                "(hidden)",
                "at least 16 characters (a long random string), or empty to turn signing off",
            ));
        }
        if security.require_signed_views && security.view_secret.is_empty() {
            return Err(ConfigError::invalid(
                "security.require_signed_views",
                "true",
                "needs security.view_secret to be set",
            ));
        }
        Ok(())
    }

    /// presence-gc's own requirement: Redis. The in-memory store lives inside one
    /// server process, where there is nothing for gc to collect.
    pub fn require_redis(&self) -> Result<(), ConfigError> {
        if self.uses_memory_store() {
            return Err(ConfigError::invalid(
                "redis.url",
                "\"\"",
                "presence-gc needs Redis: redis://host:port/db or rediss://… \
                 (PRESENCE_REDIS__URL)",
            ));
        }
        Ok(())
    }

    /// Whether the embedded in-memory store is used instead of Redis.
    pub fn uses_memory_store(&self) -> bool {
        self.redis.url.is_empty()
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session.ttl_secs)
    }

    /// How often live sessions get their TTL pushed back: three chances before a
    /// key expires, so one slow or failed refresh does not drop a live reader.
    pub fn session_refresh_interval(&self) -> Duration {
        self.session_ttl() / 3
    }

    /// The name of this process in logs: configured, or `<hostname>-<pid>`.
    pub fn node_name(&self) -> String {
        if !self.server.node.is_empty() {
            return self.server.node.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "presence".to_owned());
        format!("{host}-{}", std::process::id())
    }
}

fn check_range(key: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            value,
            &format!("must be from {min} to {max}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    fn load_toml(toml: &str) -> Result<Config, ConfigError> {
        Config::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    #[test]
    fn defaults_are_valid_and_use_memory() {
        let config = load_toml("").unwrap();
        assert!(config.uses_memory_store());
        assert_eq!(config.session.ttl_secs, 20);
    }

    #[test]
    fn bad_values_name_key_value_and_allowed() {
        let error = load_toml("[session]\nttl_secs = 0")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config: session.ttl_secs = 0: must be from 3 to 86400"
        );

        let error = load_toml("[session]\nttl_secs = \"soon\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config: session.ttl_secs = \"soon\": expected a whole number"
        );

        let error = load_toml("[redis]\nurl = \"http://user:pa55word@x\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config: redis.url = \"http://user:****@x\": must start with redis:// or rediss://, \
             or be empty for the in-memory store"
        );

        let two = "url = \"redis://a:6379,redis://b:6379\"";
        let error = load_toml(&format!("[redis]\n{two}"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("redis.url") && error.contains("only with redis.mode"),
            "{error}"
        );
        let cluster = load_toml(&format!("[redis]\nmode = \"cluster\"\n{two}")).unwrap();
        assert_eq!(cluster.redis.urls(), ["redis://a:6379", "redis://b:6379"]);
        let error = load_toml("[redis]\nmode = \"cluster\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("redis.mode") && error.contains("seed"),
            "{error}"
        );
        let error = load_toml("[redis]\nmode = \"sentinel\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("redis.mode") && error.contains("one of \"single\", \"cluster\""),
            "{error}"
        );

        let error = load_toml("[log]\nformat = \"xml\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("log.format") && error.contains("one of \"text\", \"json\""),
            "{error}"
        );

        let error = load_toml("[server]\nlistn = \"x\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config: server.listn = \"x\": no such setting; did you mean server.listen?"
        );
    }

    #[test]
    fn unknown_keys_and_sections_are_named_once_with_the_closest() {
        let error = load_toml("[session]\nttlsecs = 5").unwrap_err().to_string();
        assert_eq!(
            error,
            "config: session.ttlsecs = 5: no such setting; did you mean session.ttl_secs?"
        );
        // In the wrong section: the setting of that name elsewhere.
        let error = load_toml("[server]\nttl_secs = 5").unwrap_err().to_string();
        assert_eq!(
            error,
            "config: server.ttl_secs = 5: no such setting; did you mean session.ttl_secs?"
        );
        let error = load_toml("[servr]\nlisten = \"127.0.0.1:1\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "config: servr = {\"listen\":\"127.0.0.1:1\"}: no such section; did you mean [server]?"
        );
        let error = load_toml("[server]\ncolour = 1").unwrap_err().to_string();
        assert!(
            error.starts_with(
                "config: server.colour = 1: no such setting; settings here are listen, node,"
            ),
            "{error}"
        );
    }

    #[test]
    fn addresses_name_the_value_and_the_form() {
        let error = load_toml("[server]\nlisten = \"nonsense\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!("config: server.listen = \"nonsense\": expected {SOCKET_ADDRESS}")
        );
        let error = load_toml("[server]\nlisten = 3000")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!("config: server.listen = 3000: expected {SOCKET_ADDRESS}")
        );
        let config = load_toml("[server]\nlisten = \"[::1]:8080\"").unwrap();
        assert_eq!(config.server.listen, "[::1]:8080".parse().unwrap());

        let error = load_toml("[security]\ntrusted_proxies = [\"10.0.0.1\", \"proxy\"]")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("security.trusted_proxies")
                && error.contains("\"proxy\"")
                && error.contains("an IP address, e.g. 10.0.0.1"),
            "{error}"
        );
        let error = load_toml("[security]\ntrusted_proxies = \"10.0.0.1\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a list of IP addresses, e.g. [\"10.0.0.1\""),
            "{error}"
        );
        let config =
            load_toml("[security]\ntrusted_proxies = [\"10.0.0.1\", \"fd00::1\"]").unwrap();
        assert_eq!(config.security.trusted_proxies.len(), 2);
    }

    #[test]
    fn secrets_are_never_printed() {
        let error = load_toml("[notices]\ntoken = 12345")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "config: notices.token = (hidden): expected a string");
    }

    #[test]
    fn every_setting_is_listed_once() {
        let keys = Config::keys();
        assert!(keys.contains(&"server.listen".to_owned()));
        assert!(keys.contains(&"gc.sweep_interval_secs".to_owned()));
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
        assert_eq!(
            environment::variable_of("session.ttl_secs"),
            "PRESENCE_SESSION__TTL_SECS"
        );
    }
}

#[cfg(test)]
mod shipped_file {
    use super::*;

    /// The repository's `config.toml` documents every setting with its default:
    /// it must parse (no unknown key) and equal the built-in defaults.
    #[test]
    fn config_toml_holds_exactly_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config.toml");
        let shipped = Config::from_figment(Figment::from(Toml::file(path)))
            .expect("config.toml must be valid");
        let defaults = Config::default();
        assert_eq!(
            toml_of(&shipped),
            toml_of(&defaults),
            "config.toml and Config::default() disagree"
        );

        // Every section and key of the defaults appears in the file.
        let text = std::fs::read_to_string(path).unwrap();
        let serde_json::Value::Object(sections) = serde_json::to_value(&defaults).unwrap() else {
            panic!("config is a table");
        };
        for (section, keys) in sections {
            assert!(
                text.contains(&format!("[{section}]")),
                "[{section}] missing"
            );
            for key in keys.as_object().unwrap().keys() {
                assert!(
                    text.lines().any(|l| l.starts_with(&format!("{key} = "))),
                    "{section}.{key} missing from config.toml"
                );
            }
        }
    }

    fn toml_of(config: &Config) -> serde_json::Value {
        serde_json::to_value(config).unwrap()
    }
}

#[cfg(test)]
mod readme_table {
    use super::*;

    /// The README's configuration table lists every setting, with its variable.
    #[test]
    fn readme_lists_every_setting() {
        let readme = include_str!("../../README.md");
        let serde_json::Value::Object(sections) = serde_json::to_value(Config::default()).unwrap()
        else {
            panic!("config is a table");
        };
        for (section, keys) in sections {
            for key in keys.as_object().unwrap().keys() {
                let row = format!(
                    "| `{section}.{key}` | `PRESENCE_{}__{}` |",
                    section.to_uppercase(),
                    key.to_uppercase()
                );
                assert!(readme.contains(&row), "README.md lacks the row {row}");
            }
        }
    }
}
