//! Object URLs made from a template and a file's relative name, for batches of raw PUTs:
//! [`UrlTemplate`].
//!
//! `http://127.0.0.1:8080/bucket/{name}` with the name `photos/a b.jpg` gives
//! `http://127.0.0.1:8080/bucket/photos/a%20b.jpg`: each path segment of the name is
//! percent-encoded on its own (every byte outside RFC 3986's unreserved set, so spaces, `%`, `?`,
//! `#`, non-ASCII and bytes that are not UTF-8 all survive), and the `/` between segments is kept.

/// A placeholder of a [`UrlTemplate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placeholder {
    /// The whole relative name.
    Name,
    /// The name without its extension (folders kept).
    Stem,
    /// The extension without its dot (empty when there is none).
    Ext,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Hole(Placeholder),
}

/// A URL with `{name}`, `{stem}` and `{ext}` placeholders, filled per file.
///
/// ```
/// use multipart_upload::UrlTemplate;
///
/// let t: UrlTemplate = "http://127.0.0.1:8080/bucket/{name}".parse().unwrap();
/// assert!(t.names_each_file());
/// assert_eq!(
///     t.expand(b"photos/a b.jpg").unwrap(),
///     "http://127.0.0.1:8080/bucket/photos/a%20b.jpg"
/// );
/// // A name that would climb out of the bucket's path is refused.
/// assert!(t.expand(b"../etc/passwd").is_err());
///
/// let t: UrlTemplate = "http://h/{stem}.v2.{ext}".parse().unwrap();
/// assert_eq!(t.expand(b"dir/caf\xc3\xa9.tar.gz").unwrap(), "http://h/dir/caf%C3%A9.tar.v2.gz");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate {
    text: String,
    pieces: Vec<Piece>,
}

/// Why a URL template was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{...}` that is not `{name}`, `{stem}` or `{ext}`.
    #[error(
        "unknown placeholder `{{{0}}}` in the URL template (known: {{name}}, {{stem}}, {{ext}})"
    )]
    Unknown(String),
    /// A `{` without its `}`, or a `}` without its `{`.
    #[error("unbalanced brace in the URL template at byte {0}")]
    Unbalanced(usize),
    /// Not an `http://` or `https://` URL.
    #[error("the URL template must start with http:// or https://")]
    Scheme,
    /// A name that cannot be put in a URL path safely: absolute, or with an empty, `.` or `..`
    /// segment (a server would resolve it to another object, perhaps outside the prefix).
    #[error("`{0}` cannot name an object: it must be relative, without empty, . or .. segments")]
    Name(String),
}

impl std::str::FromStr for UrlTemplate {
    type Err = TemplateError;

    fn from_str(text: &str) -> Result<UrlTemplate, TemplateError> {
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(TemplateError::Scheme);
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            let at = text.len() - rest.len() + i;
            if rest.as_bytes()[i] == b'}' {
                return Err(TemplateError::Unbalanced(at));
            }
            literal.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let end = after
                .find(['{', '}'])
                .filter(|&j| after.as_bytes()[j] == b'}')
                .ok_or(TemplateError::Unbalanced(at))?;
            let hole = match &after[..end] {
                "name" => Placeholder::Name,
                "stem" => Placeholder::Stem,
                "ext" => Placeholder::Ext,
                other => return Err(TemplateError::Unknown(other.to_string())),
            };
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Hole(hole));
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(UrlTemplate {
            text: text.to_string(),
            pieces,
        })
    }
}

impl UrlTemplate {
    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether every file gets its own URL: the template holds `{name}`. Without it, two files
    /// of a batch could be written to one object, the later overwriting the earlier.
    pub fn names_each_file(&self) -> bool {
        self.pieces.contains(&Piece::Hole(Placeholder::Name))
    }

    /// The URL for the file with relative name `name` (its exact bytes, `/` between folders).
    /// A template with placeholders refuses a name that is absolute or has an empty, `.` or
    /// `..` segment.
    pub fn expand(&self, name: &[u8]) -> Result<String, TemplateError> {
        let has_holes = self.pieces.iter().any(|p| matches!(p, Piece::Hole(_)));
        if has_holes
            && name
                .split(|&b| b == b'/')
                .any(|seg| matches!(seg, b"" | b"." | b".."))
        {
            return Err(TemplateError::Name(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        let (stem, ext) = split_ext(name);
        let mut url = String::with_capacity(self.text.len() + name.len() * 3);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => url.push_str(s),
                Piece::Hole(Placeholder::Name) => encode_path(name, &mut url),
                Piece::Hole(Placeholder::Stem) => encode_path(stem, &mut url),
                Piece::Hole(Placeholder::Ext) => encode_path(ext, &mut url),
            }
        }
        Ok(url)
    }
}

/// `name` split before the last `.` of its final segment; a leading dot (`.bashrc`) is part of
/// the stem, not an extension.
fn split_ext(name: &[u8]) -> (&[u8], &[u8]) {
    let last = name.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    match name[last..].iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => (&name[..last + dot], &name[last + dot + 1..]),
        _ => (name, &[]),
    }
}

/// Appends `path` with each segment percent-encoded and the `/` separators kept.
fn encode_path(path: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in path {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> UrlTemplate {
        s.parse().unwrap()
    }

    /// `expand` for names the tests know are fine.
    trait ExpandOk {
        fn expand_ok(&self, name: &[u8]) -> String;
    }
    impl ExpandOk for UrlTemplate {
        fn expand_ok(&self, name: &[u8]) -> String {
            self.expand(name).unwrap()
        }
    }

    #[test]
    fn every_byte_outside_the_unreserved_set_is_encoded_per_segment() {
        let tpl = t("http://h/b/{name}?x=1");
        assert_eq!(
            tpl.expand_ok("a b/50% #1?.txt".as_bytes()),
            "http://h/b/a%20b/50%25%20%231%3F.txt?x=1"
        );
        assert_eq!(tpl.expand_ok(b"caf\xe9"), "http://h/b/caf%E9?x=1");
        assert_eq!(
            tpl.expand_ok("ü.bin".as_bytes()),
            "http://h/b/%C3%BC.bin?x=1"
        );
    }

    #[test]
    fn stem_and_ext_split_at_the_last_dot_of_the_last_segment() {
        let tpl = t("http://h/{stem}|{ext}");
        assert_eq!(tpl.expand_ok(b"a.b/c.tar.gz"), "http://h/a.b/c.tar|gz");
        assert_eq!(tpl.expand_ok(b"a.b/c"), "http://h/a.b/c|");
        assert_eq!(tpl.expand_ok(b".bashrc"), "http://h/.bashrc|");
        assert!(!tpl.names_each_file());
        assert!(t("https://h/{name}").names_each_file());
    }

    #[test]
    fn bad_templates_are_refused() {
        let err = |s: &str| s.parse::<UrlTemplate>().unwrap_err();
        assert_eq!(err("http://h/{nam}"), TemplateError::Unknown("nam".into()));
        assert_eq!(err("http://h/{name"), TemplateError::Unbalanced(9));
        assert_eq!(err("http://h/name}"), TemplateError::Unbalanced(13));
        assert_eq!(err("http://h/{{name}}"), TemplateError::Unbalanced(9));
        assert_eq!(err("ftp://h/{name}"), TemplateError::Scheme);
        assert_eq!(err("/bucket/{name}"), TemplateError::Scheme);
        assert_eq!(t("HTTPS://h/x").expand_ok(b"a"), "HTTPS://h/x");
    }

    #[test]
    fn names_that_would_leave_the_prefix_are_refused() {
        let tpl = t("http://h/bucket/{name}");
        for bad in [
            &b"../x"[..],
            b"a/../../x",
            b"/etc/passwd",
            b"a//b",
            b"./a",
            b"a/",
            b"",
        ] {
            assert!(
                matches!(tpl.expand(bad), Err(TemplateError::Name(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(tpl.expand_ok(b"..a/b.."), "http://h/bucket/..a/b..");
        // Without placeholders the name is not used, so any name goes (a one-file batch).
        assert_eq!(t("http://h/one").expand_ok(b"/abs/x"), "http://h/one");
    }
}
