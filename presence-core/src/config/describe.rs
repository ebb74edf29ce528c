//! figment's errors in our words: the key once, as the user wrote it (a dotted key in
//! the file, the variable in the environment), the value, and what is allowed.

use figment::error::Kind;
use figment::value::Value;
use figment::{Figment, Metadata, Source};

use super::environment::variable_of;
use super::{ConfigError, closest, is_secret};

/// Where a value came from, to name its key the way the user wrote it.
pub(super) enum Origin {
    File(std::path::PathBuf),
    Variable,
    /// Built-in defaults, or an in-memory source in tests.
    Elsewhere,
}

impl Origin {
    pub(super) fn of(metadata: Option<&Metadata>) -> Self {
        match metadata {
            Some(Metadata {
                source: Some(Source::File(path)),
                ..
            }) => Origin::File(path.clone()),
            Some(metadata) if metadata.name.contains("environment variable") => Origin::Variable,
            _ => Origin::Elsewhere,
        }
    }

    /// The key as shown, and the note on where it was set.
    pub(super) fn name(&self, key: &str) -> (String, String) {
        match self {
            Origin::File(path) => (key.to_owned(), format!(" (in {})", path.display())),
            Origin::Variable => (variable_of(key), String::new()),
            Origin::Elsewhere => (key.to_owned(), String::new()),
        }
    }
}

/// An [`ConfigError::Invalid`] for `key`, named after where its value came from.
pub(super) fn invalid_at(
    figment: &Figment,
    key: &str,
    value: String,
    allowed: String,
) -> ConfigError {
    let origin = Origin::of(figment.find_metadata(key));
    let (key, origin) = origin.name(key);
    ConfigError::Invalid {
        key,
        value,
        allowed,
        origin,
    }
}

/// The value at `key` as the user would write it (JSON is TOML for scalars and
/// lists), shortened; secrets are hidden.
pub(super) fn value_at(figment: &Figment, key: &str) -> Option<String> {
    if is_secret(key) {
        return Some("(hidden)".to_owned());
    }
    let value = figment.find_value(key).ok()?;
    Some(shorten(show(&value)))
}

fn show(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "(unprintable)".to_owned())
}

fn shorten(text: String) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}…")
}

/// Turns figment's error into ours. `keys` are every setting, `section.key`.
pub(super) fn describe(error: figment::Error, figment: &Figment, keys: &[String]) -> ConfigError {
    let mut path = error.path.clone();
    if let Kind::UnknownField(field, _) = &error.kind
        && path.last() != Some(field)
    {
        path.push(field.clone());
    }
    let key = path.join(".");
    let value = || {
        value_at(figment, &key).unwrap_or_else(|| match &error.kind {
            Kind::InvalidType(actual, _) | Kind::InvalidValue(actual, _) => actual.to_string(),
            _ => "(unknown)".to_owned(),
        })
    };
    let (shown, origin) = Origin::of(error.metadata.as_ref()).name(&key);
    let invalid = |allowed: String| ConfigError::Invalid {
        key: shown.clone(),
        value: value(),
        allowed,
        origin: origin.clone(),
    };
    match &error.kind {
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
            invalid(format!("expected {}", in_words(expected)))
        }
        Kind::UnknownVariant(_, allowed) => invalid(format!(
            "expected one of {}",
            allowed
                .iter()
                .map(|variant| format!("{variant:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Kind::UnknownField(_, here) => invalid(unknown_setting(&path, here, keys)),
        Kind::Message(message) => invalid(message.clone()),
        _ => ConfigError::Unreadable(error.to_string().replace('\n', "; ")),
    }
}

/// "no such setting", with the closest one: in the same section first, then
/// anywhere (`[server] ttl_secs` was meant for `session.ttl_secs`).
fn unknown_setting(path: &[String], here: &[&str], keys: &[String]) -> String {
    let name = path.last().map(String::as_str).unwrap_or_default();
    let siblings: Vec<String> = here.iter().map(|s| s.to_string()).collect();
    let section = &path[..path.len().saturating_sub(1)];
    if section.is_empty() {
        return match closest(name, &siblings) {
            Some(meant) => format!("no such section; did you mean [{meant}]?"),
            None => format!("no such section; sections are {}", here.join(", ")),
        };
    }
    let suggestion = closest(name, &siblings)
        .map(|sibling| format!("{}.{sibling}", section.join(".")))
        .or_else(|| closest(name, keys).map(str::to_owned));
    match suggestion {
        Some(meant) => format!("no such setting; did you mean {meant}?"),
        None => format!("no such setting; settings here are {}", here.join(", ")),
    }
}

/// serde's names for types, in the words of a config file.
fn in_words(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a sequence" => "a list, e.g. [\"a\", \"b\"]".to_owned(),
        other => other.to_owned(),
    }
}
