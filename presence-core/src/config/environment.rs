//! `PRESENCE_…` environment variables: each one must name a setting.
//!
//! figment reads every `PRESENCE_` variable and drops those that name nothing, so a
//! typo (`PRESENCE_SERVR__LISTEN`, `PRESENCE_REDIS_URL`) would leave the setting at
//! its default without a word. We check the names first, and a name that is not a
//! setting stops the start, with the closest setting's variable.
//!
//! Both binaries know every setting: they share one file and, in deployments, one
//! environment file, so a variable for one of them (`PRESENCE_GC__…`) is not an error
//! in the other.

use std::ffi::OsString;

use super::{ConfigError, closest, is_secret};

/// Variables that start with `PRESENCE_` but are not settings: the project's test
/// suite, Node test scripts and benchmark scripts use them, and a binary started from
/// a shell that exports one must still start. Documented in config.toml's header.
pub const NOT_SETTINGS: &[&str] = &[
    "PRESENCE_TEST_LOG",
    "PRESENCE_TEST_SKIP_DPKG",
    "PRESENCE_URL",
    "PRESENCE_POST",
    "PRESENCE_BIN",
];

pub const PREFIX: &str = "PRESENCE_";

/// The variable that sets `section.key`.
pub fn variable_of(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Whether the variable (name after `PRESENCE_`, any case) is one of [`NOT_SETTINGS`].
pub(super) fn is_not_setting(unprefixed: &str) -> bool {
    let name = format!("{PREFIX}{}", unprefixed.trim().to_ascii_uppercase());
    NOT_SETTINGS.contains(&name.as_str())
}

/// Checks every `PRESENCE_` variable in `vars` against the settings in `keys`
/// (`section.key`). figment matches the prefix in any case, and so does this.
pub(super) fn check(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    keys: &[String],
) -> Result<(), ConfigError> {
    let known: Vec<String> = keys.iter().map(|key| variable_of(key)).collect();
    for (name, value) in vars {
        let name = name.to_string_lossy().trim().to_ascii_uppercase();
        if !name.starts_with(PREFIX)
            || NOT_SETTINGS.contains(&name.as_str())
            || known.contains(&name)
        {
            continue;
        }
        let closest = closest(&name, &known).map(str::to_owned);
        let hidden = is_secret(&name) || closest.as_deref().is_some_and(is_secret);
        return Err(ConfigError::UnknownVariable {
            value: if hidden {
                "(hidden)".to_owned()
            } else {
                format!("{:?}", value.to_string_lossy())
            },
            variable: name,
            closest,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        [
            "server.listen",
            "redis.url",
            "session.ttl_secs",
            "notices.token",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn check_one(name: &str, value: &str) -> Result<(), ConfigError> {
        check([(name.into(), value.into())], &keys())
    }

    #[test]
    fn settings_other_variables_and_the_projects_own_pass() {
        for name in [
            "PRESENCE_SERVER__LISTEN",
            "presence_redis__url",
            "PATH",
            "PRESENCEX",
            "PRESENCE_TEST_LOG",
        ] {
            assert!(check_one(name, "x").is_ok(), "{name}");
        }
    }

    #[test]
    fn an_unknown_variable_is_named_with_the_closest_setting() {
        for (typo, meant) in [
            ("PRESENCE_SERVR__LISTEN", "PRESENCE_SERVER__LISTEN"),
            ("PRESENCE_SERVER_LISTEN", "PRESENCE_SERVER__LISTEN"),
            ("PRESENCE_REDIS_URL", "PRESENCE_REDIS__URL"),
            ("presence_session__ttl", "PRESENCE_SESSION__TTL_SECS"),
            ("PRESENCE_LISTEN", "PRESENCE_SERVER__LISTEN"),
        ] {
            let error = check_one(typo, "1").unwrap_err().to_string();
            assert_eq!(
                error,
                format!(
                    "config: {} = \"1\": no such setting; did you mean {meant}?",
                    typo.to_ascii_uppercase()
                )
            );
        }
        let error = check_one("PRESENCE_COLOUR", "blue")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("config: PRESENCE_COLOUR = \"blue\": no such setting; settings are"),
            "{error}"
        );
    }

    #[test]
    fn a_misspelt_secret_is_not_printed() {
        let error = check_one("PRESENCE_NOTICES_TOKEN", "s3cret-s3cret-s3cret")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("s3cret"), "{error}");
        assert!(error.contains("(hidden)") && error.contains("PRESENCE_NOTICES__TOKEN"));
    }
}
