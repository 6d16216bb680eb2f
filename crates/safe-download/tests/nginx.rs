//! Interop with nginx: plain downloads, and resume with Range + If-Range against nginx's own
//! ETag (it honours If-Range and answers 200 in full when the validator does not match).

use safe_download::{DownloadError, Downloader, Resume, Target};
use std::path::Path;
use std::time::UNIX_EPOCH;
use testbed::peers::Nginx;

struct Served {
    _root: tempfile::TempDir,
    files: std::path::PathBuf,
    nginx: Nginx,
}

fn serve() -> Option<Served> {
    let root = tempfile::tempdir().unwrap();
    let files = root.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let data: Vec<u8> = (0..500_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(files.join("data.bin"), data).unwrap();
    let server = format!("location / {{ root {}; }}", files.display());
    let nginx = Nginx::start(&root.path().join("nginx"), "", &server)?;
    Some(Served {
        _root: root,
        files,
        nginx,
    })
}

/// nginx's ETag: hex mtime seconds and hex size.
fn nginx_etag(path: &Path) -> String {
    let meta = std::fs::metadata(path).unwrap();
    let mtime = meta
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("\"{mtime:x}-{:x}\"", meta.len())
}

fn plant_partial(dest: &Path, url: &str, data: &[u8], len: usize, etag: &str) {
    std::fs::write(dest.join("data.bin.part"), &data[..len]).unwrap();
    let sidecar =
        serde_json::json!({"url": url, "etag": etag, "last_modified": null, "total": data.len()});
    std::fs::write(dest.join("data.bin.part.json"), sidecar.to_string()).unwrap();
}

#[test]
fn downloads_from_nginx() {
    let Some(s) = serve() else { return };
    let dest = tempfile::tempdir().unwrap();
    let done = Downloader::new()
        .fetch(
            &s.nginx.url("/data.bin"),
            &Target::Folder(dest.path().to_path_buf()),
        )
        .unwrap();
    assert_eq!(done.path, dest.path().join("data.bin"));
    assert_eq!(
        std::fs::read(&done.path).unwrap(),
        std::fs::read(s.files.join("data.bin")).unwrap()
    );
    let err = Downloader::new()
        .fetch(
            &s.nginx.url("/missing.bin"),
            &Target::Path(dest.path().join("m.bin")),
        )
        .unwrap_err();
    assert!(
        matches!(err, DownloadError::Status { status: 404, .. }),
        "{err:?}"
    );
}

#[test]
fn resumes_from_nginx_with_its_etag() {
    let Some(s) = serve() else { return };
    let dest = tempfile::tempdir().unwrap();
    let url = s.nginx.url("/data.bin");
    let data = std::fs::read(s.files.join("data.bin")).unwrap();
    plant_partial(
        dest.path(),
        &url,
        &data,
        123_457,
        &nginx_etag(&s.files.join("data.bin")),
    );
    let done = Downloader::new()
        .resume(Resume::Continue)
        .hashing(safe_download::Hashing::Always)
        .fetch(&url, &Target::Path(dest.path().join("data.bin")))
        .unwrap();
    assert!(done.resumed, "nginx should have answered 206");
    assert_eq!(std::fs::read(dest.path().join("data.bin")).unwrap(), data);
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 1);
}

#[test]
fn restarts_against_nginx_when_the_etag_changed() {
    let Some(s) = serve() else { return };
    let dest = tempfile::tempdir().unwrap();
    let url = s.nginx.url("/data.bin");
    let data = std::fs::read(s.files.join("data.bin")).unwrap();
    // Stale bytes under a stale validator: nginx must send the whole file, which replaces them.
    let mut stale = data.clone();
    stale[..1000].fill(0xAA);
    plant_partial(dest.path(), &url, &stale, 200_000, "\"0-1\"");
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(dest.path().join("data.bin")))
        .unwrap();
    assert!(!done.resumed);
    assert_eq!(std::fs::read(dest.path().join("data.bin")).unwrap(), data);
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 1);
}

#[test]
fn a_complete_part_is_finished_without_a_body() {
    let Some(s) = serve() else { return };
    let dest = tempfile::tempdir().unwrap();
    let url = s.nginx.url("/data.bin");
    let data = std::fs::read(s.files.join("data.bin")).unwrap();
    plant_partial(
        dest.path(),
        &url,
        &data,
        data.len(),
        &nginx_etag(&s.files.join("data.bin")),
    );
    let done = Downloader::new()
        .resume(Resume::Continue)
        .fetch(&url, &Target::Path(dest.path().join("data.bin")))
        .unwrap();
    assert!(done.resumed);
    assert_eq!(done.bytes, data.len() as u64);
    assert_eq!(std::fs::read(dest.path().join("data.bin")).unwrap(), data);
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 1);
}
