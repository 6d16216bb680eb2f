//! What every filewire app shares, so that they behave alike: the exit codes of the README,
//! `--progress auto|always|never` with indicatif bars only on a terminal, `-F name=value`
//! fields, `-H 'Name: value'` headers (one rule: [`parse_headers`], [`parse_upload_headers`]),
//! path arguments that need not be UTF-8 ([`path_arg`]), and warnings on stderr.
//!
//! ```
//! use fw_cli::{Exit, ProgressMode, parse_fields};
//! assert_eq!(Exit::Refused as u8, 3);
//! assert_eq!("never".parse::<ProgressMode>().unwrap(), ProgressMode::Never);
//! let fields = parse_fields(&["user=ada".to_string()]).unwrap();
//! assert_eq!(fields, [("user".to_string(), "ada".to_string())]);
//! // No bar when asked for none.
//! assert!(fw_cli::progress_bar(ProgressMode::Never, false, Some(10), "x").is_none());
//! ```
//!
//! What it does not do: no argument parsing beyond these shared pieces (apps use pico-args), no
//! logic of the transfers themselves.

use chunk_stream::{Progress, ProgressObserver};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::str::FromStr;
use std::time::Duration;

/// Exit codes, the same in every app (README, Exit codes; ARCHITECTURE.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// Any other failure.
    Failure = 1,
    /// Bad command line.
    Usage = 2,
    /// Refused before sending: policy (kind, size) or a file problem.
    Refused = 3,
    /// The server said no (HTTP 4xx/5xx after retries).
    ServerSaidNo = 4,
    /// Network failure or timeout.
    Network = 5,
    /// Integrity: a lying server, a short or long body, a checksum mismatch.
    Integrity = 6,
    /// A batch finished with some items failed.
    BatchPartial = 7,
}

impl Exit {
    /// As a process exit code.
    pub fn code(self) -> std::process::ExitCode {
        std::process::ExitCode::from(self as u8)
    }

    /// The exit for a kind of failure: the one place where a library's classification becomes
    /// a process exit code.
    pub fn from_kind(kind: retry::FailureKind) -> Exit {
        use retry::FailureKind;
        match kind {
            FailureKind::Refused => Exit::Refused,
            FailureKind::Invalid => Exit::Usage,
            FailureKind::Rejected => Exit::ServerSaidNo,
            FailureKind::Network => Exit::Network,
            FailureKind::Integrity => Exit::Integrity,
            FailureKind::Other => Exit::Failure,
        }
    }

    /// The exit for a numeric code (unknown codes are [`Exit::Failure`]).
    pub fn from_code(code: u8) -> Exit {
        match code {
            0 => Exit::Ok,
            2 => Exit::Usage,
            3 => Exit::Refused,
            4 => Exit::ServerSaidNo,
            5 => Exit::Network,
            6 => Exit::Integrity,
            7 => Exit::BatchPartial,
            _ => Exit::Failure,
        }
    }
}

/// When to draw progress bars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgressMode {
    /// Only when stderr is a terminal.
    #[default]
    Auto,
    /// Always (even when stderr is redirected).
    Always,
    /// Never.
    Never,
}

impl FromStr for ProgressMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(ProgressMode::Auto),
            "always" => Ok(ProgressMode::Always),
            "never" => Ok(ProgressMode::Never),
            other => Err(format!(
                "invalid --progress `{other}` (expected auto, always or never)"
            )),
        }
    }
}

fn bars_wanted(mode: ProgressMode, quiet: bool) -> bool {
    if quiet {
        return false;
    }
    match mode {
        ProgressMode::Never => false,
        ProgressMode::Always => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    }
}

/// Where bars draw: the terminal, or — for `--progress always` with stderr redirected — plain
/// stderr (indicatif hides bars on non-terminals by itself).
fn draw_target(mode: ProgressMode) -> ProgressDrawTarget {
    if mode == ProgressMode::Always && !std::io::stderr().is_terminal() {
        ProgressDrawTarget::term_like_with_hz(Box::new(PlainStderr), 4)
    } else {
        ProgressDrawTarget::stderr()
    }
}

/// stderr driven with plain ANSI sequences, whatever it is connected to.
#[derive(Debug)]
struct PlainStderr;

impl PlainStderr {
    fn put(&self, s: &str) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().lock().write_all(s.as_bytes())
    }
}

impl indicatif::TermLike for PlainStderr {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}A"))
        }
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}B"))
        }
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}C"))
        }
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}D"))
        }
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().flush()
    }
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// A progress bar on stderr fed by a transfer's [`Progress`].
pub struct BarObserver {
    bar: ProgressBar,
}

impl BarObserver {
    /// The underlying bar (e.g. to print a message above it).
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }
}

impl ProgressObserver for BarObserver {
    fn on_progress(&mut self, p: &Progress) {
        if let Some(total) = p.total
            && self.bar.length() != Some(total)
        {
            self.bar.set_length(total);
        }
        self.bar.set_position(p.bytes);
    }

    fn on_finish(&mut self, p: &Progress) {
        self.bar.set_position(p.bytes);
        self.bar.finish();
    }
}

/// A byte-transfer bar labelled `label`, or `None` when bars are off (quiet, `never`, or `auto`
/// with stderr not a terminal).
pub fn progress_bar(
    mode: ProgressMode,
    quiet: bool,
    total: Option<u64>,
    label: &str,
) -> Option<BarObserver> {
    if !bars_wanted(mode, quiet) {
        return None;
    }
    let bar = ProgressBar::with_draw_target(total, draw_target(mode));
    let template = if no_color() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
    } else {
        "{msg} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"
    };
    let style = match total {
        Some(_) => ProgressStyle::with_template(template),
        None => ProgressStyle::with_template("{msg} {spinner} {bytes} {binary_bytes_per_sec}"),
    }
    .expect("valid progress template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(BarObserver { bar })
}

/// An items bar for batches (`done/total items`), or `None` when bars are off.
pub fn batch_bar(mode: ProgressMode, quiet: bool, items: u64) -> Option<ProgressBar> {
    if !bars_wanted(mode, quiet) {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(items), draw_target(mode));
    let template = if no_color() {
        "{msg} [{bar:30}] {pos}/{len} items {per_sec} eta {eta}"
    } else {
        "{msg} [{bar:30.green/blue}] {pos}/{len} items {per_sec} eta {eta}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid progress template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// The first step of every app: answers `-h/--help` (the usage on stdout) and `-V/--version`,
/// hands the rest of the command line to `parse`, and reports a parse error on stderr with a
/// pointer to `--help`. Returns the app's arguments, or the exit code to end with (0 after help
/// or version, 2 after a usage error).
pub fn command_line<T>(
    name: &str,
    version: &str,
    usage: &str,
    parse: impl FnOnce(pico_args::Arguments) -> Result<T, String>,
) -> Result<T, std::process::ExitCode> {
    command_line_from(
        pico_args::Arguments::from_env(),
        name,
        version,
        usage,
        parse,
    )
}

fn command_line_from<T>(
    mut args: pico_args::Arguments,
    name: &str,
    version: &str,
    usage: &str,
    parse: impl FnOnce(pico_args::Arguments) -> Result<T, String>,
) -> Result<T, std::process::ExitCode> {
    if args.contains(["-h", "--help"]) {
        print!("{usage}");
        return Err(Exit::Ok.code());
    }
    if args.contains(["-V", "--version"]) {
        println!("{name} {version}");
        return Err(Exit::Ok.code());
    }
    parse(args).map_err(|msg| {
        error(&msg);
        eprintln!("run `{name} --help` for usage");
        Exit::Usage.code()
    })
}

/// An error and its causes on one line, `a: b: c` (what `{:#}` gives an anyhow error).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Prints `warning: MSG` on stderr (yellow on a terminal unless `NO_COLOR` is set).
pub fn warn(msg: &str) {
    if !no_color() && std::io::stderr().is_terminal() {
        eprintln!("\x1b[33mwarning\x1b[0m: {msg}");
    } else {
        eprintln!("warning: {msg}");
    }
}

/// Prints `error: MSG` (with its causes) on stderr.
pub fn error(msg: &str) {
    if !no_color() && std::io::stderr().is_terminal() {
        eprintln!("\x1b[31merror\x1b[0m: {msg}");
    } else {
        eprintln!("error: {msg}");
    }
}

/// Parses `-F name=value` arguments. A name is required; the value may be empty or hold `=`.
pub fn parse_fields(values: &[String]) -> Result<Vec<(String, String)>, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
            _ => Err(format!("invalid field `{v}` (expected name=value)")),
        })
        .collect()
}

/// Headers that frame or route the request: the HTTP client sets them from the body it sends, and
/// a second copy from `-H` would give the peer two framings (request smuggling's raw material).
pub const FRAMING_HEADERS: &[&str] = &[
    "Content-Length",
    "Transfer-Encoding",
    "Host",
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Upgrade",
    "TE",
    "Trailer",
    "Expect",
];

/// Parses `-H 'Name: value'` arguments for a request whose body (if any) the app frames itself.
///
/// The rule, the same in every app: the name must be an HTTP token, the value may not hold
/// control characters (CR, LF and NUL included: no header injection), and the
/// [`FRAMING_HEADERS`] are refused, since the client generates them. Spaces around the name and
/// the value are trimmed; an empty value is allowed; a name may repeat.
pub fn parse_headers(values: &[String]) -> Result<Vec<(String, String)>, String> {
    values.iter().map(|v| parse_header(v)).collect()
}

/// As [`parse_headers`], for an upload of a generated `multipart/form-data` body: `Content-Type`
/// is refused too, because it must carry the boundary the app generates (a replacement would
/// make the body unreadable, a second copy would give the peer two types).
pub fn parse_upload_headers(values: &[String]) -> Result<Vec<(String, String)>, String> {
    let headers = parse_headers(values)?;
    if let Some((name, _)) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        return Err(format!(
            "header `{name}` cannot be given with -H: an upload's Content-Type is \
             multipart/form-data with a generated boundary"
        ));
    }
    Ok(headers)
}

fn parse_header(raw: &str) -> Result<(String, String), String> {
    let Some((name, value)) = raw.split_once(':') else {
        return Err(format!(
            "invalid header `{}` (expected 'Name: value')",
            raw.escape_debug()
        ));
    };
    let name = name.trim_matches([' ', '\t']);
    let value = value.trim_matches([' ', '\t']);
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(format!(
            "invalid header name `{}` (letters, digits and !#$%&'*+-.^_`|~ only)",
            name.escape_debug()
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "header `{name}`: the value holds a control character (CR, LF, NUL...): `{}`",
            value.escape_debug()
        ));
    }
    if let Some(framing) = FRAMING_HEADERS
        .iter()
        .find(|f| f.eq_ignore_ascii_case(name))
    {
        return Err(format!(
            "header `{framing}` cannot be given with -H: the client sets it from the request it sends"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A path argument as the OS gave it (for pico-args' `*_from_os_str`), so that file names that
/// are not UTF-8 work; an empty one is refused.
pub fn path_arg(s: &std::ffi::OsStr) -> Result<std::path::PathBuf, String> {
    if s.is_empty() {
        return Err("empty path".to_string());
    }
    Ok(std::path::PathBuf::from(s))
}

/// Parses `--timeout`: seconds (`30`, `2.5`) or with a unit (`500ms`, `30s`, `2m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("invalid duration `{s}` (expected e.g. 30, 2.5s, 500ms, 2m)");
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| err())?;
    if !v.is_finite() || v < 0.0 {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(v * mult))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_kind_has_its_exit_code() {
        use retry::FailureKind;
        for (kind, code) in [
            (FailureKind::Refused, 3),
            (FailureKind::Invalid, 2),
            (FailureKind::Rejected, 4),
            (FailureKind::Network, 5),
            (FailureKind::Integrity, 6),
            (FailureKind::Other, 1),
        ] {
            assert_eq!(Exit::from_kind(kind) as u8, code, "{kind}");
        }
    }

    #[test]
    fn exit_codes_match_the_design() {
        for (e, n) in [
            (Exit::Ok, 0),
            (Exit::Failure, 1),
            (Exit::Usage, 2),
            (Exit::Refused, 3),
            (Exit::ServerSaidNo, 4),
            (Exit::Network, 5),
            (Exit::Integrity, 6),
            (Exit::BatchPartial, 7),
        ] {
            assert_eq!(e as u8, n);
            assert_eq!(Exit::from_code(n), e);
        }
        assert_eq!(Exit::from_code(99), Exit::Failure);
    }

    #[test]
    fn fields_need_a_name_and_keep_equals_in_values() {
        let f = parse_fields(&["a=b=c".into(), "empty=".into()]).unwrap();
        assert_eq!(f[0], ("a".into(), "b=c".into()));
        assert_eq!(f[1], ("empty".into(), String::new()));
        assert!(parse_fields(&["=x".into()]).is_err());
        assert!(parse_fields(&["novalue".into()]).is_err());
    }

    #[test]
    fn progress_mode_parses_and_rejects() {
        assert_eq!("auto".parse::<ProgressMode>(), Ok(ProgressMode::Auto));
        assert_eq!("always".parse::<ProgressMode>(), Ok(ProgressMode::Always));
        assert!("sometimes".parse::<ProgressMode>().is_err());
    }

    #[test]
    fn quiet_or_never_means_no_bar() {
        assert!(progress_bar(ProgressMode::Always, true, Some(1), "x").is_none());
        assert!(progress_bar(ProgressMode::Never, false, None, "x").is_none());
        assert!(batch_bar(ProgressMode::Never, false, 3).is_none());
        assert!(progress_bar(ProgressMode::Always, false, Some(1), "x").is_some());
    }

    #[test]
    fn always_draws_even_when_stderr_is_not_a_terminal() {
        if std::io::stderr().is_terminal() {
            return; // the terminal path is indicatif's own
        }
        assert!(ProgressDrawTarget::stderr().is_hidden());
        assert!(!draw_target(ProgressMode::Always).is_hidden());
        assert!(draw_target(ProgressMode::Auto).is_hidden());
    }

    #[test]
    fn command_line_answers_help_and_version_and_reports_usage_errors() {
        let args = |v: &[&str]| pico_args::Arguments::from_vec(v.iter().map(Into::into).collect());
        let never = |_: pico_args::Arguments| -> Result<(), String> { panic!("not parsed") };
        let help = command_line_from(args(&["--help"]), "fw-x", "1", "usage: fw-x\n", never);
        assert_eq!(help.unwrap_err(), Exit::Ok.code());
        let version = command_line_from(args(&["-V"]), "fw-x", "1", "", never);
        assert_eq!(version.unwrap_err(), Exit::Ok.code());
        let bad = command_line_from(args(&["--nope"]), "fw-x", "1", "", |_| {
            Err::<(), _>("unknown flag --nope".to_string())
        });
        assert_eq!(bad.unwrap_err(), Exit::Usage.code());
        let ok = command_line_from(args(&["a"]), "fw-x", "1", "", |mut a| {
            a.free_from_str::<String>().map_err(|e| e.to_string())
        });
        assert_eq!(ok.unwrap(), "a");
    }

    #[test]
    fn error_chain_joins_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("upload failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("connection reset"));
        assert_eq!(error_chain(&e), "upload failed: connection reset");
    }

    #[test]
    fn headers_are_parsed_and_trimmed() {
        let h = parse_headers(&[
            "Authorization: Bearer abc".into(),
            "X-Empty:".into(),
            "  Accept :\ttext/plain ".into(),
            "X-Colon: a:b".into(),
        ])
        .unwrap();
        assert_eq!(h[0], ("Authorization".into(), "Bearer abc".into()));
        assert_eq!(h[1], ("X-Empty".into(), String::new()));
        assert_eq!(h[2], ("Accept".into(), "text/plain".into()));
        assert_eq!(h[3], ("X-Colon".into(), "a:b".into()));
    }

    #[test]
    fn framing_headers_are_refused_in_any_case() {
        for name in FRAMING_HEADERS {
            for spelled in [
                name.to_string(),
                name.to_ascii_lowercase(),
                name.to_ascii_uppercase(),
            ] {
                let err = parse_headers(&[format!("{spelled}: x")]).unwrap_err();
                assert!(err.contains("cannot be given with -H"), "{spelled}: {err}");
            }
        }
        assert!(parse_headers(&["Content-Type: text/plain".into()]).is_ok());
    }

    #[test]
    fn an_upload_refuses_content_type() {
        for raw in [
            "Content-Type: text/plain",
            "content-type: multipart/form-data; boundary=x",
        ] {
            let err = parse_upload_headers(&[raw.into()]).unwrap_err();
            assert!(err.contains("generated boundary"), "{err}");
        }
        assert!(parse_upload_headers(&["Transfer-Encoding: chunked".into()]).is_err());
        assert!(parse_upload_headers(&["X-Ok: 1".into()]).is_ok());
    }

    #[test]
    fn malformed_and_injected_headers_are_refused() {
        for bad in [
            "NoColon",
            ": empty name",
            "Bad Name: x",
            "X(y): x",
            "X-A: b\r\nX-Injected: c",
            "X-A: b\nc",
            "X-A: nul\0",
            "X-\u{e9}: x",
        ] {
            assert!(parse_headers(&[bad.into()]).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn path_args_keep_bytes_that_are_not_utf8() {
        assert!(path_arg(std::ffi::OsStr::new("")).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let raw = std::ffi::OsStr::from_bytes(b"dir\xff/a");
            assert_eq!(path_arg(raw).unwrap().as_os_str().as_bytes(), b"dir\xff/a");
        }
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("2.5s").unwrap(), Duration::from_millis(2500));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
