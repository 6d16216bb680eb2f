//! Interop with Python httpbin (Werkzeug under gunicorn): gzip it sends unasked, redirects,
//! statuses, Content-Disposition it is told to send, and Range on /range.

use safe_download::{DownloadError, Downloader, Resume, Target};
use testbed::peers::Httpbin;

#[test]
fn works_with_httpbin() {
    let Some(hb) = Httpbin::start() else { return };
    let dest = tempfile::tempdir().unwrap();
    let to = |name: &str| Target::Path(dest.path().join(name));

    // /gzip is compressed whatever the request says: the file holds the decoded JSON.
    let done = Downloader::new()
        .fetch(&hb.url("/gzip"), &to("gzip.json"))
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&done.path).unwrap()).unwrap();
    assert_eq!(v["gzipped"], true);
    // ... and its decoded size counts against the limit.
    let err = Downloader::new()
        .max_size(50)
        .fetch(&hb.url("/gzip"), &to("small.json"))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::LimitExceeded { limit: 50, .. }),
        "{err:?}"
    );

    // Relative and absolute redirects.
    for path in [
        "/redirect/3",
        "/relative-redirect/3",
        "/absolute-redirect/3",
    ] {
        let name = path.replace('/', "_");
        let done = Downloader::new().fetch(&hb.url(path), &to(&name)).unwrap();
        assert!(done.url.ends_with("/get"), "{path}: {}", done.url);
    }
    let err = Downloader::new()
        .max_redirects(2)
        .fetch(&hb.url("/redirect/3"), &to("r.json"))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::TooManyRedirects { limit: 2, .. }),
        "{err:?}"
    );

    let err = Downloader::new()
        .fetch(&hb.url("/status/418"), &to("teapot"))
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::Status { status: 418, .. }),
        "{err:?}"
    );

    // A hostile Content-Disposition and a good one.
    let folder = Target::Folder(dest.path().to_path_buf());
    let err = Downloader::new()
        .fetch(
            &hb.url("/response-headers?Content-Disposition=attachment%3B%20filename%3D%22..%2F..%2Fpwn.sh%22"),
            &folder,
        )
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::UnsafeFilename { .. }),
        "{err:?}"
    );
    let done = Downloader::new()
        .fetch(
            &hb.url("/response-headers?Content-Disposition=attachment%3B%20filename%2A%3DUTF-8%27%27na%25C3%25AFve.json"),
            &folder,
        )
        .unwrap();
    assert_eq!(done.path, dest.path().join("naïve.json"));
    // Raw UTF-8 in a plain filename= (common, though not RFC 6266) is read as UTF-8.
    let done = Downloader::new()
        .fetch(
            &hb.url("/response-headers?Content-Disposition=attachment%3B%20filename%3D%22caf%C3%A9.json%22"),
            &folder,
        )
        .unwrap();
    assert!(
        done.path.starts_with(dest.path()),
        "{}",
        done.path.display()
    );

    // Resume on /range: httpbin answers 206 with Content-Range.
    let url = hb.url("/range/100000");
    let full: Vec<u8> = (0..100_000).map(|i| b'a' + (i % 26) as u8).collect();
    let final_path = dest.path().join("range.txt");
    std::fs::write(safe_download::part_path(&final_path), &full[..30_000]).unwrap();
    let sidecar = serde_json::json!({"url": url, "etag": "range100000", "last_modified": null, "total": 100000});
    std::fs::write(
        safe_download::sidecar_path(&final_path),
        sidecar.to_string(),
    )
    .unwrap();
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(final_path.clone()))
        .unwrap();
    assert!(done.resumed);
    assert_eq!(std::fs::read(&final_path).unwrap(), full);
    assert!(!safe_download::part_path(&final_path).exists());
    assert!(!safe_download::sidecar_path(&final_path).exists());
}
