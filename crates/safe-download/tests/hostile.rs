//! Issue 13's hostile servers against the testbed's `/hostile/...` endpoints: lying resumes,
//! credentials across origins, content codings, deadlines and over-long names. Each test checks
//! the class (every variant the endpoint offers), not one example.

use safe_download::{DownloadError, Downloader, Resume, Target};
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testbed::{PseudoRandomBytes, Testbed};

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn pseudo(seed: u64, len: u64) -> Vec<u8> {
    let mut v = Vec::new();
    PseudoRandomBytes::new(seed, len)
        .read_to_end(&mut v)
        .unwrap();
    v
}

/// A part of `len` bytes of version 1 with the sidecar a real first attempt would have written.
fn plant(
    dest: &Path,
    url: &str,
    len: usize,
    total: Option<u64>,
    etag: Option<&str>,
    date: Option<&str>,
) {
    let v1 = pseudo(1, 10_000);
    std::fs::write(dest.join("out.bin.part"), &v1[..len]).unwrap();
    let sidecar =
        serde_json::json!({"url": url, "etag": etag, "last_modified": date, "total": total});
    std::fs::write(dest.join("out.bin.part.json"), sidecar.to_string()).unwrap();
}

const OLD_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

fn resume_url(tb: &Testbed, mode: &str) -> String {
    tb.url(&format!("/hostile/resume/{mode}?size=10000&seed=1"))
}

#[test]
fn a_lying_resume_restarts_from_zero_and_never_mixes_versions() {
    let tb = Testbed::start().unwrap();
    let etag = "\"v1-1-10000\"";
    // (mode, what the file must be afterwards)
    let cases = [
        ("range-lie", pseudo(1, 10_000)),
        ("etag-change", pseudo(2, 10_000)),
        ("total-change", pseudo(1, 11_000)),
    ];
    for (mode, expected) in cases {
        let dest = tempfile::tempdir().unwrap();
        let url = resume_url(&tb, mode);
        plant(
            dest.path(),
            &url,
            4000,
            Some(10_000),
            Some(etag),
            Some(OLD_DATE),
        );
        let target = Target::Path(dest.path().join("out.bin"));
        let done = Downloader::new()
            .resume(Resume::Continue)
            .fetch(&url, &target)
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert!(!done.resumed, "{mode}");
        assert_eq!(
            std::fs::read(dest.path().join("out.bin")).unwrap(),
            expected,
            "{mode}"
        );
        assert_eq!(listing(dest.path()), ["out.bin"], "{mode}");
    }

    // Last-Modified as the only validator: a moved date restarts too.
    let dest = tempfile::tempdir().unwrap();
    let url = resume_url(&tb, "date-change");
    plant(dest.path(), &url, 4000, Some(10_000), None, Some(OLD_DATE));
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(dest.path().join("out.bin")))
        .unwrap();
    assert!(!done.resumed);
    assert_eq!(
        std::fs::read(dest.path().join("out.bin")).unwrap(),
        pseudo(1, 10_000)
    );
}

#[test]
fn a_416_completes_only_when_every_total_agrees() {
    let tb = Testbed::start().unwrap();
    let etag = "\"v1-1-10000\"";
    let url = resume_url(&tb, "honest");
    // The whole file is already there and the totals agree: finished without a body.
    let dest = tempfile::tempdir().unwrap();
    plant(dest.path(), &url, 10_000, Some(10_000), Some(etag), None);
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(dest.path().join("out.bin")))
        .unwrap();
    assert!(done.resumed);
    assert_eq!(
        std::fs::read(dest.path().join("out.bin")).unwrap(),
        pseudo(1, 10_000)
    );

    // A part of the right size but a different recorded total: the 416 proves nothing.
    let dest = tempfile::tempdir().unwrap();
    plant(dest.path(), &url, 10_000, Some(12_000), Some(etag), None);
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(dest.path().join("out.bin")))
        .unwrap();
    assert!(!done.resumed);
    assert_eq!(
        std::fs::read(dest.path().join("out.bin")).unwrap(),
        pseudo(1, 10_000)
    );

    // An honest resume still resumes.
    let dest = tempfile::tempdir().unwrap();
    plant(dest.path(), &url, 3000, Some(10_000), Some(etag), None);
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(dest.path().join("out.bin")))
        .unwrap();
    assert!(done.resumed);
    assert_eq!(
        std::fs::read(dest.path().join("out.bin")).unwrap(),
        pseudo(1, 10_000)
    );
}

#[test]
fn a_weak_etag_alone_never_proves_a_range() {
    let tb = Testbed::start().unwrap();
    // The honest server would continue, but all the part has is a weak ETag: start over.
    let url = resume_url(&tb, "honest");
    let dest = tempfile::tempdir().unwrap();
    plant(
        dest.path(),
        &url,
        3000,
        Some(10_000),
        Some("W/\"v1-1-10000\""),
        None,
    );
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(dest.path().join("out.bin")))
        .unwrap();
    assert!(!done.resumed);
    assert_eq!(
        std::fs::read(dest.path().join("out.bin")).unwrap(),
        pseudo(1, 10_000)
    );
}

#[test]
fn no_restart_refuses_and_keeps_the_part() {
    let tb = Testbed::start().unwrap();
    for mode in ["range-lie", "etag-change", "total-change"] {
        let dest = tempfile::tempdir().unwrap();
        let url = resume_url(&tb, mode);
        plant(
            dest.path(),
            &url,
            4000,
            Some(10_000),
            Some("\"v1-1-10000\""),
            None,
        );
        let err = Downloader::new()
            .resume(Resume::Continue)
            .restart(false)
            .fetch(&url, &Target::Path(dest.path().join("out.bin")))
            .unwrap_err();
        assert!(
            matches!(err, DownloadError::ResumeRefused { .. }),
            "{mode}: {err:?}"
        );
        assert_eq!(err.kind(), retry::FailureKind::Refused);
        assert_eq!(
            listing(dest.path()),
            ["out.bin.part", "out.bin.part.json"],
            "{mode}"
        );
    }
}

/// The headers the echo endpoint saw, lower-cased names.
fn echoed(path: &Path) -> Vec<(String, String)> {
    let v: Vec<(String, String)> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v.into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

#[test]
fn credentials_stay_with_their_origin_unless_trusted() {
    let a = Testbed::start().unwrap();
    let b = Testbed::start().unwrap();
    let secrets = [
        ("Authorization", "Bearer s3cret"),
        ("Cookie", "session=s3cret"),
        ("Proxy-Authorization", "Basic s3cret"),
    ];
    let downloader = |trusted: bool| {
        secrets
            .iter()
            .fold(Downloader::new(), |d, (k, v)| d.header(k, v))
            .header("X-Plain", "kept")
            .location_trusted(trusted)
    };
    // Another port, another host name for the same address, each through a 302 and a 307.
    let elsewhere = [
        b.url("/hostile/headers"),
        format!("http://localhost:{}/hostile/headers", a.addr().port()),
    ];
    for target_url in &elsewhere {
        for status in [302, 307] {
            let dest = tempfile::tempdir().unwrap();
            let url = a.url(&format!(
                "/hostile/redirect?status={status}&to={}",
                target_url.replace(':', "%3A").replace('/', "%2F")
            ));
            let out = dest.path().join("h.json");
            downloader(false)
                .fetch(&url, &Target::Path(out.clone()))
                .unwrap();
            let seen = echoed(&out);
            for (k, _) in &secrets {
                let k = k.to_ascii_lowercase();
                assert!(
                    !seen.iter().any(|(n, _)| *n == k),
                    "{k} leaked to {target_url}"
                );
            }
            assert!(seen.iter().any(|(n, v)| n == "x-plain" && v == "kept"));

            std::fs::remove_file(&out).unwrap();
            downloader(true)
                .fetch(&url, &Target::Path(out.clone()))
                .unwrap();
            let seen = echoed(&out);
            assert!(
                seen.iter()
                    .any(|(n, v)| n == "authorization" && v == "Bearer s3cret")
            );
        }
    }
    // A redirect within the origin keeps them.
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("h.json");
    downloader(false)
        .fetch(
            &a.url("/hostile/redirect?to=/hostile/headers"),
            &Target::Path(out.clone()),
        )
        .unwrap();
    let seen = echoed(&out);
    assert!(
        seen.iter()
            .any(|(n, v)| n == "cookie" && v == "session=s3cret")
    );
}

#[test]
fn every_content_coding_is_decoded_before_writing() {
    let tb = Testbed::start().unwrap();
    let expected = pseudo(5, 20_000);
    let codings = [
        "gzip",
        "GZIP",
        "x-gzip",
        "deflate",
        "Deflate",
        "gzip, gzip",
        "deflate, gzip",
        "gzip,deflate",
        "identity, gzip",
    ];
    for value in codings {
        for split in ["0", "1"] {
            for raw in ["0", "1"] {
                let dest = tempfile::tempdir().unwrap();
                let url = tb.url(&format!(
                    "/hostile/encoded?size=20000&seed=5&split={split}&raw={raw}&coding={}",
                    value.replace(' ', "%20").replace(',', "%2C")
                ));
                let out = dest.path().join("out.bin");
                if value == "gzip,deflate" && split == "1" {
                    // ureq gunzips the outer (deflate) layer of a first `gzip` line itself:
                    // this one shape can only be refused, never saved wrong.
                    let err = Downloader::new()
                        .fetch(&url, &Target::Path(out.clone()))
                        .unwrap_err();
                    assert!(
                        matches!(err, DownloadError::UnsupportedEncoding { .. }),
                        "{err:?}"
                    );
                    assert!(listing(dest.path()).is_empty());
                    continue;
                }
                let done = Downloader::new()
                    .fetch(&url, &Target::Path(out.clone()))
                    .unwrap_or_else(|e| panic!("{value} split={split}: {e}"));
                assert_eq!(done.bytes, 20_000, "{value} split={split} raw={raw}");
                assert_eq!(
                    std::fs::read(&out).unwrap(),
                    expected,
                    "{value} split={split}"
                );
            }
        }
    }
}

#[test]
fn unknown_or_broken_codings_are_refused_with_nothing_written() {
    let tb = Testbed::start().unwrap();
    for value in ["br", "zstd", "compress", "gzip, br", "BR"] {
        let dest = tempfile::tempdir().unwrap();
        let url = tb.url(&format!(
            "/hostile/encoded?size=5000&coding={}",
            value.replace(' ', "%20").replace(',', "%2C")
        ));
        let err = Downloader::new()
            .resume(Resume::Continue)
            .fetch(&url, &Target::Path(dest.path().join("out.bin")))
            .unwrap_err();
        assert!(
            matches!(err, DownloadError::UnsupportedEncoding { .. }),
            "{value}: {err:?}"
        );
        assert_eq!(err.kind(), retry::FailureKind::Refused);
        assert!(listing(dest.path()).is_empty(), "{value}");
    }
    // Data that does not decode as declared: refused as an integrity failure.
    for value in ["gzip", "GZIP", "deflate"] {
        let dest = tempfile::tempdir().unwrap();
        let url = tb.url(&format!(
            "/hostile/encoded?size=200000&corrupt=1&coding={value}"
        ));
        let err = Downloader::new()
            .fetch(&url, &Target::Path(dest.path().join("out.bin")))
            .unwrap_err();
        assert!(
            matches!(err, DownloadError::Undecodable { .. }),
            "{value}: {err:?}"
        );
        assert_eq!(err.kind(), retry::FailureKind::Integrity);
        assert!(listing(dest.path()).is_empty(), "{value}");
    }
}

#[test]
fn max_time_ends_a_dripping_body_and_a_dripping_head() {
    let tb = Testbed::start().unwrap();
    for path in [
        "/fault/drip?interval_ms=300",
        "/hostile/slow-head?interval_ms=300",
    ] {
        let dest = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let err = Downloader::new()
            .timeout(Duration::from_secs(2))
            .max_time(Some(Duration::from_millis(1500)))
            .fetch(&tb.url(path), &Target::Path(dest.path().join("out.bin")))
            .unwrap_err();
        assert!(
            matches!(err, DownloadError::DeadlineExceeded { .. }),
            "{path}: {err:?}"
        );
        assert_eq!(err.kind(), retry::FailureKind::Network);
        // Generous: the point is "not 1000 bytes at 300 ms each".
        assert!(started.elapsed() < Duration::from_secs(20), "{path}");
        assert!(listing(dest.path()).is_empty(), "{path}");
    }
    // Without --max-time the header deadline still holds a dripping status line.
    let dest = tempfile::tempdir().unwrap();
    let err = Downloader::new()
        .timeout(Duration::from_secs(2))
        .header_timeout(Duration::from_millis(1200))
        .fetch(
            &tb.url("/hostile/slow-head?interval_ms=300"),
            &Target::Path(dest.path().join("out.bin")),
        )
        .unwrap_err();
    assert!(matches!(err, DownloadError::Timeout { .. }), "{err:?}");
}

/// (asked by the server, actually waited)
type Waits = (Option<Duration>, Duration);

#[test]
fn long_retry_after_waits_are_announced_and_capped() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let heard: Arc<Mutex<Vec<Waits>>> = Arc::default();
    let log = heard.clone();
    let err = Downloader::new()
        .retries(
            retry::RetryPolicy::new()
                .max_tries(2)
                .max_retry_after(Duration::from_millis(200)),
        )
        .on_retry(move |n| log.lock().unwrap().push((n.asked, n.wait)))
        .fetch(
            &tb.url("/hostile/retry-after?value=999999"),
            &Target::Path(dest.path().join("out.bin")),
        )
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::Status { status: 503, .. }),
        "{err:?}"
    );
    let heard = heard.lock().unwrap();
    assert_eq!(
        *heard,
        [(
            Some(Duration::from_secs(999_999)),
            Duration::from_millis(200)
        )]
    );
    // A deadline shorter than the wait ends it at once.
    let started = Instant::now();
    Downloader::new()
        .retries(retry::RetryPolicy::new().max_tries(3))
        .max_time(Some(Duration::from_secs(1)))
        .fetch(
            &tb.url("/hostile/retry-after?value=60"),
            &Target::Path(dest.path().join("out.bin")),
        )
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn over_long_server_names_are_shortened_and_saved() {
    let tb = Testbed::start().unwrap();
    for len in [250usize, 255, 400] {
        let dest = tempfile::tempdir().unwrap();
        let name = format!("{}.txt", "n".repeat(len - 4));
        let done = Downloader::new()
            .fetch(
                &tb.url(&format!("/fault/disposition?filename={name}")),
                &Target::Folder(dest.path().to_path_buf()),
            )
            .unwrap_or_else(|e| panic!("{len}: {e}"));
        let saved = done
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(saved.len(), safe_download::MAX_NAME_BYTES, "{len}");
        assert!(saved.ends_with(".txt"));
        assert_eq!(listing(dest.path()), [saved]);
        // And with --continue (part and sidecar names fit too).
        let dest = tempfile::tempdir().unwrap();
        Downloader::new()
            .resume(Resume::Continue)
            .fetch(
                &tb.url(&format!("/fault/disposition?filename={name}")),
                &Target::Folder(dest.path().to_path_buf()),
            )
            .unwrap_or_else(|e| panic!("{len} continue: {e}"));
    }
}
