//! The one `--accept` grammar of every app: a comma-separated list of content types
//! (`image/jpeg`), a wildcard over a top-level type (`image/*`) and short names (`png`, `jpg`,
//! `pdf`), case-insensitive, spaces around items ignored.

use crate::Kind;

/// Parses an accept list into content-type patterns, lower case: `type/subtype`, `type/*` or
/// `*/*`; a short name becomes its kind's content type (`png` → `image/png`).
///
/// ```
/// assert_eq!(
///     binary_io::parse_accept("image/*, PDF").unwrap(),
///     vec!["image/*".to_string(), "application/pdf".to_string()]
/// );
/// assert!(binary_io::parse_accept("bogus").is_err());
/// ```
pub fn parse_accept(list: &str) -> Result<Vec<String>, AcceptError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let lower = item.to_ascii_lowercase();
        if let Some((top, sub)) = lower.split_once('/') {
            let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
            if !token(top) || !token(sub) || (top == "*" && sub != "*") {
                return Err(AcceptError {
                    pattern: item.to_string(),
                });
            }
            out.push(lower);
        } else if let Some(kind) = Kind::from_extension(&lower) {
            out.push(kind.mime().to_string());
        } else {
            return Err(AcceptError {
                pattern: item.to_string(),
            });
        }
    }
    if out.is_empty() {
        return Err(AcceptError {
            pattern: list.to_string(),
        });
    }
    Ok(out)
}

/// Whether a content type (parameters ignored) matches a pattern from [`parse_accept`].
pub fn accept_matches(pattern: &str, content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match pattern.split_once('/') {
        Some(("*", "*")) => true,
        Some((top, "*")) => essence.split_once('/').is_some_and(|(t, _)| t == top),
        _ => essence == pattern,
    }
}

/// The kinds an accept list allows, for a policy judged by the bytes: every kind whose content
/// type matches one of the patterns (or one of its aliases, such as `image/jpg`).
pub fn accepted_kinds(patterns: &[String]) -> Vec<Kind> {
    Kind::all()
        .iter()
        .copied()
        .filter(|k| *k != Kind::Unknown)
        .filter(|k| {
            patterns
                .iter()
                .any(|p| accept_matches(p, k.mime()) || Kind::from_mime(p).is_some_and(|m| m == *k))
        })
        .collect()
}

/// An accept list item that is neither a content type nor a known short name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{pattern}` is not a content type (type/subtype, type/*) or a known short name (png, jpg, pdf, ...)"
)]
pub struct AcceptError {
    /// The item as given.
    pub pattern: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_names_and_types_share_one_grammar() {
        let p = parse_accept(" image/* ,application/PDF, gif ").unwrap();
        assert_eq!(p, ["image/*", "application/pdf", "image/gif"]);
        let kinds = accepted_kinds(&p);
        assert!(kinds.contains(&Kind::Jpeg) && kinds.contains(&Kind::Webp));
        assert!(kinds.contains(&Kind::Pdf));
        assert!(!kinds.contains(&Kind::Html) && !kinds.contains(&Kind::Zip));
        assert!(accept_matches("image/*", "image/png; charset=binary"));
        assert!(!accept_matches("image/png", "image/jpeg"));
        assert!(accept_matches("*/*", "text/html"));
    }

    #[test]
    fn malformed_items_are_refused_by_name() {
        for bad in ["", " , ", "bogus", "image/", "/png", "*/png", "ima ge/png"] {
            assert!(parse_accept(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_accept("png,nope").unwrap_err().pattern, "nope");
    }

    #[test]
    fn an_alias_content_type_still_names_its_kind() {
        assert_eq!(
            accepted_kinds(&parse_accept("image/jpg").unwrap()),
            [Kind::Jpeg]
        );
    }
}
