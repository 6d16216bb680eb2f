//! Every fault of ARCHITECTURE.md (Faults the tests drive) against the loopback testbed: the specific error, its exit code, and
//! the destination folder afterwards (nothing under the final name, no stray temporary files).

use safe_download::{DownloadError, Downloader, Overwrite, Resume, Target};
use std::path::{Path, PathBuf};
use std::time::Duration;
use testbed::Testbed;

fn files_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = testbed::peers::workspace_root().join("fixtures/images");
    std::fs::copy(root.join("receipt.jpg"), dir.path().join("receipt.jpg")).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), big).unwrap();
    dir
}

fn testbed(files: &Path) -> Testbed {
    Testbed::builder().files_dir(files).start().unwrap()
}

/// The names in a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn out(dir: &Path) -> Target {
    Target::Path(dir.join("out.bin"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn downloads_a_jpeg_and_renames_it_only_when_complete() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let target = Target::Path(dest.path().join("photo.jpg"));
    let expected = std::fs::read(files.path().join("receipt.jpg")).unwrap();
    let done = Downloader::new()
        .accept(safe_download::parse_accept("image/*").unwrap())
        .sha256(&sha256_hex(&expected))
        .fetch(&tb.url("/files/receipt.jpg"), &target)
        .unwrap();
    assert_eq!(done.bytes, expected.len() as u64);
    assert_eq!(done.kind, binary_io::Kind::Jpeg);
    assert_eq!(done.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(done.sha256.as_deref(), Some(sha256_hex(&expected).as_str()));
    assert!(!done.resumed);
    assert_eq!(
        std::fs::read(dest.path().join("photo.jpg")).unwrap(),
        expected
    );
    assert_eq!(listing(dest.path()), ["photo.jpg"]);
    // Permissions like any new file (0666 less the umask), not a temp file's 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let plain = dest.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest.path().join("photo.jpg")), mode(&plain));
    }
}

#[test]
fn streams_a_large_body_with_a_matching_digest() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let done = Downloader::new()
        .hashing(safe_download::Hashing::Always)
        .fetch(&tb.url("/bytes/3000000?seed=7"), &out(dest.path()))
        .unwrap();
    let bytes = std::fs::read(dest.path().join("out.bin")).unwrap();
    assert_eq!(bytes.len(), 3_000_000);
    assert_eq!(done.sha256.unwrap(), sha256_hex(&bytes));
}

#[test]
fn refuses_html_served_as_jpeg() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .fetch(&tb.url("/fault/lying-type"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(&err, DownloadError::TypeMismatch { declared, sniffed: binary_io::Kind::Html, .. } if declared == "image/jpeg"),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Integrity);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn refuses_a_type_outside_the_accepted_list_before_creating_a_file() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .accept(safe_download::parse_accept("image/png,pdf").unwrap())
        .fetch(&tb.url("/bytes/1000"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(&err, DownloadError::ContentTypeNotAccepted { declared: Some(d), .. } if d == "application/octet-stream"),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Refused);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn refuses_a_declared_length_over_the_limit() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .max_size(10_000)
        .fetch(&tb.url("/bytes/10001"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::TooLarge {
                limit: 10_000,
                declared: 10_001,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(listing(dest.path()).is_empty());
    // Exactly at the limit is fine.
    Downloader::new()
        .max_size(10_000)
        .fetch(&tb.url("/bytes/10000"), &out(dest.path()))
        .unwrap();
    assert_eq!(listing(dest.path()), ["out.bin"]);
}

#[test]
fn short_body_is_truncated_and_leaves_nothing() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .fetch(&tb.url("/fault/short"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::Truncated {
                expected: 100_000,
                received: 50_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Integrity);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn body_longer_than_declared_is_refused() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .fetch(&tb.url("/fault/long"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::TooLong { expected: 1000, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Integrity);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn endless_body_stops_at_the_limit() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .max_size(2_000_000)
        .fetch(&tb.url("/fault/endless"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::LimitExceeded {
                limit: 2_000_000,
                decompressed: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Refused);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn slow_drip_hits_the_idle_timeout() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .timeout(Duration::from_millis(300))
        .fetch(&tb.url("/fault/drip?interval_ms=1500"), &out(dest.path()))
        .unwrap_err();
    assert!(matches!(err, DownloadError::Timeout { .. }), "{err:?}");
    assert_eq!(err.kind(), retry::FailureKind::Network);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn reset_mid_body_is_a_network_error() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .fetch(&tb.url("/fault/reset?after=20000"), &out(dest.path()))
        .unwrap_err();
    assert!(matches!(err, DownloadError::Reset { .. }), "{err:?}");
    assert_eq!(err.kind(), retry::FailureKind::Network);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn gzip_bomb_stops_at_the_size_limit() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .max_size(10_000_000)
        .fetch(&tb.url("/fault/gzip-bomb"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::LimitExceeded {
                limit: 10_000_000,
                decompressed: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn gzip_bomb_stops_at_the_decompression_limit_without_a_size_limit() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .max_decompressed(8 << 20)
        .fetch(&tb.url("/fault/gzip-bomb"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::LimitExceeded {
                limit: 8_388_608,
                decompressed: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn unsafe_disposition_names_are_refused() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    for (query, why) in [
        (
            "filename=..%2F..%2Fescaped.txt",
            "contains a path separator",
        ),
        ("filename=%2Fetc%2Fpasswd", "contains a path separator"),
        ("filename=..", "is a relative path component"),
        ("filename=tab%09name", "contains a control character"),
        ("filename_star=..%2Fstar.txt", "contains a path separator"),
        ("filename_star=nul%00.txt", "contains a control character"),
        ("filename=CON", "is a reserved device name"),
    ] {
        let url = tb.url(&format!("/fault/disposition?{query}"));
        let err = Downloader::new()
            .fetch(&url, &Target::Folder(dest.path().to_path_buf()))
            .unwrap_err();
        assert!(
            matches!(&err, DownloadError::UnsafeFilename { reason, .. } if *reason == why),
            "{query}: {err:?}"
        );
        assert_eq!(err.kind(), retry::FailureKind::Refused);
        assert!(listing(dest.path()).is_empty(), "{query}");
    }
    // A raw control byte in the header itself never gets past the HTTP parser.
    let err = Downloader::new()
        .fetch(
            &tb.url("/fault/disposition?filename=bell%07.txt"),
            &Target::Folder(dest.path().to_path_buf()),
        )
        .unwrap_err();
    assert!(matches!(err, DownloadError::Network { .. }), "{err:?}");
    assert!(listing(dest.path()).is_empty());
    let parent = listing(dest.path().parent().unwrap());
    assert!(!parent.iter().any(|n| n == "escaped.txt" || n == "star.txt"));
}

#[test]
fn disposition_names_the_file_when_safe() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let folder = Target::Folder(dest.path().to_path_buf());
    let done = Downloader::new()
        .fetch(&tb.url("/fault/disposition?filename=report.txt"), &folder)
        .unwrap();
    assert_eq!(done.path, dest.path().join("report.txt"));
    assert_eq!(std::fs::read(&done.path).unwrap(), b"hello\n");
    let done = Downloader::new()
        .fetch(
            &tb.url("/fault/disposition?filename_star=%E2%82%AC%20rates.txt"),
            &folder,
        )
        .unwrap();
    assert_eq!(done.path, dest.path().join("€ rates.txt"));
    // Never overwritten without being told.
    let err = Downloader::new()
        .fetch(&tb.url("/fault/disposition?filename=report.txt"), &folder)
        .unwrap_err();
    assert!(matches!(err, DownloadError::Exists { .. }), "{err:?}");
    assert_eq!(listing(dest.path()), ["report.txt", "€ rates.txt"]);
}

#[test]
fn redirect_loop_stops_at_the_limit() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .max_redirects(5)
        .fetch(&tb.url("/fault/redirect-loop"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::TooManyRedirects { limit: 5, .. }),
        "{err:?}"
    );
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn follows_a_redirect_chain_within_the_limit() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let done = Downloader::new()
        .max_redirects(3)
        .fetch(&tb.url("/fault/redirect-chain?n=3"), &out(dest.path()))
        .unwrap();
    assert!(
        done.url.ends_with("/fault/redirect-chain?n=0"),
        "{}",
        done.url
    );
    assert_eq!(
        std::fs::read(dest.path().join("out.bin")).unwrap(),
        b"arrived"
    );
    let err = Downloader::new()
        .max_redirects(2)
        .fetch(
            &tb.url("/fault/redirect-chain?n=3"),
            &Target::Path(dest.path().join("again.bin")),
        )
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::TooManyRedirects { .. }),
        "{err:?}"
    );
}

#[test]
fn redirects_to_other_schemes_are_refused() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    for (query, location) in [("", "file:///etc/passwd"), ("?to=ftp", "ftp://127.0.0.1/x")] {
        let err = Downloader::new()
            .fetch(
                &tb.url(&format!("/fault/redirect-scheme{query}")),
                &out(dest.path()),
            )
            .unwrap_err();
        assert!(
            matches!(&err, DownloadError::UnsupportedRedirect { location: l, .. } if l == location),
            "{err:?}"
        );
        assert_eq!(err.kind(), retry::FailureKind::Refused);
    }
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn error_statuses_are_refused_with_retry_hints() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .fetch(&tb.url("/fault/status/404"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::Status { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Rejected);
    let err = Downloader::new()
        .fetch(&tb.url("/fault/storm?fail=1&key=dl"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::Status {
                status: 503,
                retry_after: Some(d),
                ..
            } if d == Duration::ZERO
        ),
        "{err:?}"
    );
    assert!(retry::Retryable::is_retryable(&err));
    // 416 to a request without Range is just a refusal (no retry loop).
    let err = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&tb.url("/fault/status/416"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::Status { status: 416, .. }),
        "{err:?}"
    );
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn checksum_mismatch_leaves_nothing() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .sha256(&"0".repeat(64))
        .fetch(&tb.url("/bytes/5000"), &out(dest.path()))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Integrity);
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn existing_files_are_kept_unless_replacing() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let path = dest.path().join("out.bin");
    std::fs::write(&path, b"precious").unwrap();
    let err = Downloader::new()
        .fetch(&tb.url("/bytes/100"), &out(dest.path()))
        .unwrap_err();
    assert!(matches!(err, DownloadError::Exists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    // A failed replacement keeps the old file too.
    let err = Downloader::new()
        .overwrite(Overwrite::Replace)
        .fetch(&tb.url("/fault/short"), &out(dest.path()))
        .unwrap_err();
    assert!(matches!(err, DownloadError::Truncated { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    Downloader::new()
        .overwrite(Overwrite::Replace)
        .fetch(&tb.url("/bytes/100"), &out(dest.path()))
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap().len(), 100);
    assert_eq!(listing(dest.path()), ["out.bin"]);
}

fn continue_to(dest: &Path, name: &str) -> (Downloader, Target, PathBuf) {
    let path = dest.join(name);
    (
        Downloader::new().resume(Resume::Continue),
        Target::Path(path.clone()),
        path,
    )
}

#[test]
fn resumes_across_a_connection_cut() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let (d, target, path) = continue_to(dest.path(), "big.bin");
    let url = tb.url("/flaky/big.bin?cut_after=100000");
    let err = d.fetch(&url, &target).unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::Truncated {
                expected: 300_000,
                received: 100_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(listing(dest.path()), ["big.bin.part", "big.bin.part.json"]);
    assert_eq!(
        std::fs::metadata(dest.path().join("big.bin.part"))
            .unwrap()
            .len(),
        100_000
    );

    let expected = std::fs::read(files.path().join("big.bin")).unwrap();
    let done = d
        .clone()
        .sha256(&sha256_hex(&expected))
        .fetch(&url, &target)
        .unwrap();
    assert!(done.resumed);
    assert_eq!(done.bytes, 300_000);
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn restarts_when_the_server_ignores_range() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let (d, target, path) = continue_to(dest.path(), "big.bin");
    let url = tb.url("/flaky/big.bin?cut_after=50000&ignore_range=1");
    d.fetch(&url, &target).unwrap_err();
    assert!(dest.path().join("big.bin.part").exists());
    let done = d.fetch(&url, &target).unwrap();
    assert!(!done.resumed);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(files.path().join("big.bin")).unwrap()
    );
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn restarts_when_the_resource_changed() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let (d, target, path) = continue_to(dest.path(), "big.bin");
    let url = tb.url("/flaky/big.bin?cut_after=50000&change_etag=1");
    d.fetch(&url, &target).unwrap_err();
    let done = d.fetch(&url, &target).unwrap();
    assert!(!done.resumed);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(files.path().join("big.bin")).unwrap()
    );
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn continue_keeps_the_part_on_a_reset_but_drops_it_on_a_lie() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let (d, target, _) = continue_to(dest.path(), "out.bin");
    let err = d
        .fetch(&tb.url("/fault/reset?after=20000"), &target)
        .unwrap_err();
    assert!(matches!(err, DownloadError::Reset { .. }), "{err:?}");
    assert!(listing(dest.path()).contains(&"out.bin.part".to_string()));
    assert!(!listing(dest.path()).contains(&"out.bin".to_string()));

    let dest = tempfile::tempdir().unwrap();
    let (d, target, _) = continue_to(dest.path(), "out.bin");
    let err = d.fetch(&tb.url("/fault/lying-type"), &target).unwrap_err();
    assert!(matches!(err, DownloadError::TypeMismatch { .. }), "{err:?}");
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn remote_name_downloads_resume_too() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let folder = Target::Folder(dest.path().to_path_buf());
    let d = Downloader::new().resume(Resume::Continue);
    let url = tb.url("/flaky/big.bin?cut_after=120000");
    d.fetch(&url, &folder).unwrap_err();
    assert_eq!(listing(dest.path()), ["big.bin.part", "big.bin.part.json"]);
    let done = d.fetch(&url, &folder).unwrap();
    assert!(done.resumed);
    assert_eq!(done.path, dest.path().join("big.bin"));
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn progress_counts_resumed_bytes_and_knows_the_total() {
    use std::sync::{Arc, Mutex};
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let (d, target, _) = continue_to(dest.path(), "big.bin");
    let url = tb.url("/flaky/big.bin?cut_after=100000");
    d.fetch(&url, &target).unwrap_err();
    type Seen = Vec<(u64, Option<u64>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = seen.clone();
    d.fetch_with_progress(&url, &target, move |p: &chunk_stream::Progress| {
        log.lock().unwrap().push((p.bytes, p.total));
    })
    .unwrap();
    let seen = seen.lock().unwrap();
    let first = seen.first().copied().unwrap();
    let last = seen.last().copied().unwrap();
    assert!(first.0 > 100_000, "{first:?}");
    assert_eq!(last, (300_000, Some(300_000)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn a_part_longer_than_the_resource_is_replaced() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let (d, target, path) = continue_to(dest.path(), "big.bin");
    let url = tb.url("/flaky/big.bin?cut_after=100000");
    d.fetch(&url, &target).unwrap_err();
    // Grow the part past the resource's end: the server answers 416 and the download restarts.
    let part = dest.path().join("big.bin.part");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes.resize(350_000, 0xEE);
    std::fs::write(&part, bytes).unwrap();
    let done = d.fetch(&url, &target).unwrap();
    assert!(!done.resumed);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(files.path().join("big.bin")).unwrap()
    );
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn a_server_that_never_answers_hits_the_idle_timeout() {
    // Accepts the connection and reads the request, but never sends a byte back.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/silent", listener.local_addr().unwrap());
    let holder = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        // Returns when the client gives up and closes.
        while std::io::Read::read(&mut &socket, &mut buf).is_ok_and(|n| n > 0) {}
    });
    let dest = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let err = Downloader::new()
        .timeout(Duration::from_millis(300))
        .fetch(&url, &out(dest.path()))
        .unwrap_err();
    assert!(matches!(err, DownloadError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(listing(dest.path()).is_empty());
    holder.join().unwrap();
}

#[test]
fn retries_continue_a_cut_download_in_one_call() {
    let files = files_dir();
    let tb = testbed(files.path());
    let dest = tempfile::tempdir().unwrap();
    let (d, target, path) = continue_to(dest.path(), "big.bin");
    let policy = retry::RetryPolicy::new()
        .max_tries(3)
        .base_delay(Duration::from_millis(10));
    let done = d
        .retries(policy)
        .fetch(&tb.url("/flaky/big.bin?cut_after=100000"), &target)
        .unwrap();
    assert!(done.resumed);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(files.path().join("big.bin")).unwrap()
    );
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn retries_ride_out_a_5xx_storm_but_not_a_lie() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let policy = retry::RetryPolicy::new()
        .max_tries(4)
        .base_delay(Duration::from_millis(10));
    let done = Downloader::new()
        .retries(policy.clone())
        .fetch(&tb.url("/fault/storm?fail=3&key=retry"), &out(dest.path()))
        .unwrap();
    assert_eq!(std::fs::read(done.path).unwrap(), b"ok");
    let before = tb.stats().requests;
    let err = Downloader::new()
        .retries(policy)
        .fetch(
            &tb.url("/fault/lying-type"),
            &Target::Path(dest.path().join("x.jpg")),
        )
        .unwrap_err();
    assert!(matches!(err, DownloadError::TypeMismatch { .. }), "{err:?}");
    assert_eq!(tb.stats().requests - before, 1, "a lie is not retried");
}

#[test]
fn a_body_past_the_background_flush_threshold_arrives_intact() {
    let files = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..40_000_000u32).map(|i| (i ^ (i >> 9)) as u8).collect();
    std::fs::write(files.path().join("large.bin"), &data).unwrap();
    let tb = testbed(files.path());
    for resume in [Resume::Fresh, Resume::Continue] {
        let dest = tempfile::tempdir().unwrap();
        let done = Downloader::new()
            .resume(resume)
            .fetch(&tb.url("/files/large.bin"), &out(dest.path()))
            .unwrap();
        assert_eq!(done.bytes, 40_000_000);
        assert!(std::fs::read(dest.path().join("out.bin")).unwrap() == data);
        assert_eq!(listing(dest.path()), ["out.bin"]);
    }
}
