//! The OCR.space API key: where it comes from, and a type that never shows it.

use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable holding the OCR.space key.
pub const KEY_VARIABLE: &str = "OCRSPACE_API_KEY";

/// OCR.space's public demo key, heavily throttled.
pub const DEMO_KEY: &str = "helloworld";

/// An API key. `Debug` prints `ApiKey(***)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the `apikey` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is the public demo key.
    pub fn is_demo(&self) -> bool {
        self.0 == DEMO_KEY
    }

    /// Replaces every occurrence of the key in `text` with `***`.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Where a resolved key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The `OCRSPACE_API_KEY` environment variable.
    Environment,
    /// A `.env` file (the environment had no key).
    DotEnv(PathBuf),
    /// Neither: the throttled public demo key. Apps warn about it on stderr.
    Demo,
}

/// A key and where it came from.
#[derive(Clone, Debug)]
pub struct ResolvedKey {
    /// The key.
    pub key: ApiKey,
    /// Its origin.
    pub source: KeySource,
}

/// Finds the key: `OCRSPACE_API_KEY` from the environment, else `OCRSPACE_API_KEY=` in
/// `dir/.env` (which never overrides the environment), else the demo key.
pub fn resolve_key(dir: &Path) -> ResolvedKey {
    resolve_key_with(std::env::var(KEY_VARIABLE).ok().as_deref(), dir)
}

/// [`resolve_key`] with the environment's value given explicitly (for tests and embedding).
/// An empty value counts as absent.
pub fn resolve_key_with(environment: Option<&str>, dir: &Path) -> ResolvedKey {
    if let Some(key) = environment.map(str::trim).filter(|k| !k.is_empty()) {
        return ResolvedKey {
            key: ApiKey::new(key),
            source: KeySource::Environment,
        };
    }
    let dotenv = dir.join(".env");
    if let Ok(contents) = std::fs::read_to_string(&dotenv)
        && let Some(key) = dotenv_value(&contents, KEY_VARIABLE)
    {
        return ResolvedKey {
            key: ApiKey::new(key),
            source: KeySource::DotEnv(dotenv),
        };
    }
    ResolvedKey {
        key: ApiKey::new(DEMO_KEY),
        source: KeySource::Demo,
    }
}

/// The value of `name` in `.env` text: `NAME=value`, optional `export `, optional single or
/// double quotes, `#` comments; the last assignment wins; empty values count as absent.
fn dotenv_value(contents: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in contents.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != name {
            continue;
        }
        let value = value.trim();
        let value = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value.split(" #").next().unwrap_or("").trim(),
        };
        found = (!value.is_empty()).then(|| value.to_string());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("K8s3cr3tValue");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        let resolved = ResolvedKey {
            key,
            source: KeySource::Environment,
        };
        assert!(!format!("{resolved:?}").contains("K8s3cr3tValue"));
    }

    #[test]
    fn scrub_replaces_the_key_everywhere() {
        let key = ApiKey::new("abc123");
        assert_eq!(key.scrub("x abc123 y abc123"), "x *** y ***");
    }

    #[test]
    fn environment_wins_over_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "OCRSPACE_API_KEY=from-file\n").unwrap();
        let r = resolve_key_with(Some("from-env"), dir.path());
        assert_eq!(r.key.expose(), "from-env");
        assert_eq!(r.source, KeySource::Environment);
    }

    #[test]
    fn dotenv_is_used_when_environment_is_absent_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# keys\nOTHER=1\nexport OCRSPACE_API_KEY=\"from-file\" # mine\n",
        )
        .unwrap();
        for env in [None, Some(""), Some("  ")] {
            let r = resolve_key_with(env, dir.path());
            assert_eq!(r.key.expose(), "from-file");
            assert_eq!(r.source, KeySource::DotEnv(dir.path().join(".env")));
        }
    }

    #[test]
    fn demo_key_when_neither_has_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "OCRSPACE_API_KEY=\nOTHER=x\n").unwrap();
        let r = resolve_key_with(None, dir.path());
        assert!(r.key.is_demo());
        assert_eq!(r.source, KeySource::Demo);
    }

    #[test]
    fn dotenv_values_unquoted_quoted_and_commented() {
        assert_eq!(dotenv_value("A=1\nA=2\n", "A").as_deref(), Some("2"));
        assert_eq!(dotenv_value("A = 'x y' \n", "A").as_deref(), Some("x y"));
        assert_eq!(dotenv_value("A=v # note\n", "A").as_deref(), Some("v"));
        assert_eq!(dotenv_value("AB=1\n", "A"), None);
        assert_eq!(dotenv_value("garbage line\n", "A"), None);
    }
}
