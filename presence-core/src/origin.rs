//! Origin allowlist patterns: `https://blog.example.com` or `https://*.example.com`.
//!
//! Lives in the core so the config can validate patterns at start; the server
//! applies it to Socket.IO handshakes and CORS.

/// Is `pattern` a usable allowlist entry?
pub fn is_valid_pattern(pattern: &str) -> bool {
    let Some((scheme, host)) = pattern.split_once("://") else {
        return false;
    };
    let host = host.strip_prefix("*.").unwrap_or(host);
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

/// The allowed origins. Empty means any origin.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    patterns: Vec<String>,
}

impl OriginPolicy {
    pub fn new(patterns: &[String]) -> Self {
        Self {
            patterns: patterns.iter().map(|p| p.to_ascii_lowercase()).collect(),
        }
    }

    pub fn allows_any(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a browser `Origin` header value is allowed. A wildcard matches one
    /// or more labels (`https://*.example.com` allows `https://a.b.example.com`)
    /// but not the bare domain, and never a look-alike (`evilexample.com`).
    pub fn allows(&self, origin: &str) -> bool {
        if self.allows_any() {
            return true;
        }
        let origin = origin.to_ascii_lowercase();
        self.patterns
            .iter()
            .any(|pattern| match pattern.split_once("://*.") {
                Some((scheme, suffix)) => origin
                    .strip_prefix(scheme)
                    .and_then(|rest| rest.strip_prefix("://"))
                    .and_then(|host| host.strip_suffix(suffix))
                    .is_some_and(|label| label.len() > 1 && label.ends_with('.')),
                None => *pattern == origin,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard_origins() {
        let policy = OriginPolicy::new(&[
            "https://blog.example.com".into(),
            "https://*.example.org".into(),
        ]);
        assert!(policy.allows("https://blog.example.com"));
        assert!(policy.allows("HTTPS://Blog.Example.com"));
        assert!(policy.allows("https://news.example.org"));
        assert!(policy.allows("https://a.b.example.org"));
        for refused in [
            "http://blog.example.com",
            "https://blog.example.com.evil.net",
            "https://example.org",
            "https://evilexample.org",
            "https://.example.org",
            "http://news.example.org",
            "null",
            "",
        ] {
            assert!(!policy.allows(refused), "{refused} must be refused");
        }
        assert!(OriginPolicy::default().allows("https://anything.net"));
    }

    #[test]
    fn pattern_validation() {
        assert!(is_valid_pattern("https://blog.example.com"));
        assert!(is_valid_pattern("http://localhost:8080"));
        assert!(is_valid_pattern("https://*.example.com"));
        for bad in [
            "blog.example.com",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://*",
        ] {
            assert!(!is_valid_pattern(bad), "{bad}");
        }
    }
}
