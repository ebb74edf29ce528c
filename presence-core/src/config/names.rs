//! Names of settings: the closest one to a misspelt name, and which ones hold secrets.

use super::environment::PREFIX;

/// The candidate closest to `name`, if one is close enough to be what was meant.
///
/// Names are compared without case, the `PRESENCE_` prefix and separators, so
/// `PRESENCE_SERVER_LISTEN` (one underscore) is `PRESENCE_SERVER__LISTEN`. A name
/// that is the start or the end of a candidate (`ttl` for `ttl_secs`, `LISTEN` for
/// `SERVER__LISTEN`) counts as one edit away; between two such, the one with fewer
/// real edits wins (`LISTEN` is `server.listen`, not `gc.metrics_listen`).
pub fn closest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let wanted = normal(name);
    if wanted.is_empty() {
        return None;
    }
    let within = (wanted.len() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| {
            let known = normal(candidate);
            let edits = strsim::levenshtein(&wanted, &known);
            let part =
                wanted.len() >= 3 && (known.starts_with(&wanted) || known.ends_with(&wanted));
            let distance = if part { edits.min(1) } else { edits };
            (distance, edits, candidate)
        })
        .filter(|(distance, _, _)| *distance <= within)
        .min_by_key(|(distance, edits, _)| (*distance, *edits))
        .map(|(_, _, candidate)| candidate.as_str())
}

fn normal(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper
        .strip_prefix(PREFIX)
        .unwrap_or(&upper)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Whether a setting (or a variable naming one) holds a secret, whose value is
/// never printed: tokens and the view-signing secret.
pub fn is_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["TOKEN", "SECRET", "PASSWORD"]
        .iter()
        .any(|word| upper.contains(word))
}

/// `url` (one URL or several, comma-separated) with each password replaced by
/// `****`, for error messages: `redis://user:secret@host` is `redis://user:****@host`.
pub fn without_passwords(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let Some((scheme, rest)) = one.split_once("://") else {
                return one.to_owned();
            };
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                    let hidden = if userinfo.contains(':') { ":****" } else { "" };
                    format!("{scheme}://{user}{hidden}@{host}{path}")
                }
                None => one.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn close_names_are_found_and_far_ones_are_not() {
        let keys = names(&["listen", "node", "websocket_only", "ping_interval_secs"]);
        assert_eq!(closest("listn", &keys), Some("listen"));
        assert_eq!(closest("LISTEN", &keys), Some("listen"));
        assert_eq!(closest("websocket", &keys), Some("websocket_only"));
        assert_eq!(closest("ping_interval", &keys), Some("ping_interval_secs"));
        assert_eq!(closest("colour", &keys), None);
        assert_eq!(closest("", &keys), None);

        let all = names(&["gc.metrics_listen", "server.listen", "session.ttl_secs"]);
        assert_eq!(closest("ttl_secs", &all), Some("session.ttl_secs"));
        // Both end in "listen": the one with fewer edits wins, wherever it is.
        assert_eq!(closest("listen", &all), Some("server.listen"));
    }

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            without_passwords("redis://:pw@a:6379/0,rediss://u:p@w@b/1,redis://c"),
            "redis://:****@a:6379/0,rediss://u:****@b/1,redis://c"
        );
        assert_eq!(without_passwords("redis://user@a"), "redis://user@a");
        assert_eq!(without_passwords("localhost:6379"), "localhost:6379");
    }

    #[test]
    fn secrets_are_recognised() {
        assert!(is_secret("notices.token"));
        assert!(is_secret("PRESENCE_SECURITY__VIEW_SECRET"));
        assert!(!is_secret("server.listen"));
    }
}
