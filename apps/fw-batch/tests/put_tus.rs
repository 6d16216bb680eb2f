//! fw-batch --put and --tus as a process, against the real peers: nginx's WebDAV PUT and the
//! official tus server (@tus/server), including a tus batch killed halfway and rerun.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use testbed::peers::{Nginx, TusServer};

fn fw_batch(state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fw-batch"));
    command
        .arg("--progress=never")
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("running fw-batch")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The batch every test sends: names with spaces, `%`, `#`, non-ASCII, bytes that are not UTF-8,
/// and nested folders. Returns the relative names as raw bytes.
fn make_folder(src: &Path) -> Vec<Vec<u8>> {
    let names: [&[u8]; 6] = [
        b"a b.txt",
        "ünïcødé ñame.bin".as_bytes(),
        b"50% #1?.txt",
        b"caf\xe9-latin1.bin",
        b"sub/deep/c d.bin",
        b"sub/e.png",
    ];
    for (i, name) in names.iter().enumerate() {
        let path = src.join(OsStr::from_bytes(name));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut bytes = noise(i as u64 + 1, 3000 + i * 777);
        if name.ends_with(b".png") {
            // Real PNG magic, so the sniffed type is image/png.
            bytes.splice(0..8, *b"\x89PNG\r\n\x1a\n");
        }
        std::fs::write(path, bytes).unwrap();
    }
    names.iter().map(|n| n.to_vec()).collect()
}

fn assert_same_tree(src: &Path, names: &[Vec<u8>], stored_root: &Path) {
    for name in names {
        let name = OsStr::from_bytes(name);
        let stored = std::fs::read(stored_root.join(name))
            .unwrap_or_else(|e| panic!("{} not stored: {e}", name.to_string_lossy()));
        assert!(
            stored == std::fs::read(src.join(name)).unwrap(),
            "{} differs",
            name.to_string_lossy()
        );
    }
}

#[test]
fn put_sends_a_folder_to_webdav_once_per_template() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start_webdav(&tmp.path().join("nginx")) else {
        return;
    };
    let src = tmp.path().join("src");
    let names = make_folder(&src);
    let bucket = nginx.dav_root().join("dav/bucket");
    let template = nginx.url("/dav/bucket/{name}");
    let put = |template: &str| {
        run(fw_batch(tmp.path())
            .args(["--json", "--workers", "3", "--put", template])
            .arg(&src)
            .args(["-H", "x-amz-acl: private"]))
    };

    let out = put(&template);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), names.len(), "{lines:?}");
    for line in &lines {
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["status"], 201, "{line}");
        let url = line["url"].as_str().unwrap();
        assert!(url.starts_with(&nginx.url("/dav/bucket/")), "{line}");
    }
    let urls: BTreeSet<&str> = lines.iter().map(|l| l["url"].as_str().unwrap()).collect();
    assert!(urls.contains(nginx.url("/dav/bucket/50%25%20%231%3F.txt").as_str()));
    assert!(urls.contains(nginx.url("/dav/bucket/sub/deep/c%20d.bin").as_str()));
    assert_same_tree(&src, &names, &bucket);

    // A rerun to the same template sends nothing: what it would send would reappear.
    std::fs::remove_dir_all(&bucket).unwrap();
    let out = put(&template);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(json_lines(&out).is_empty(), "{out:?}");
    assert!(
        stderr(&out).contains(&format!("{0} of {0} files already uploaded", names.len())),
        "{}",
        stderr(&out)
    );
    assert!(!bucket.exists(), "the rerun sent something");

    // Another template is another destination: everything goes there.
    let out = put(&nginx.url("/dav/other/{name}"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_lines(&out).len(), names.len());
    assert_same_tree(&src, &names, &nginx.dav_root().join("dav/other"));
    assert!(!bucket.exists());
}

#[test]
fn put_with_stem_and_ext_and_a_one_file_batch_without_name() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start_webdav(&tmp.path().join("nginx")) else {
        return;
    };
    let src = tmp.path().join("src");
    let names = make_folder(&src);
    // The name's `?` and `#` are encoded, so the template's own query stays a query.
    let out = run(fw_batch(tmp.path())
        .args([
            "-q",
            "--put",
            &nginx.url("/dav/v/{name}?stem={stem}&ext={ext}"),
        ])
        .arg(&src));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_same_tree(&src, &names, &nginx.dav_root().join("dav/v"));

    // One file may go to a URL without {name}: a fixed one, or one made of its stem and ext.
    let manifest = tmp.path().join("one.jsonl");
    std::fs::write(&manifest, "{\"path\": \"src/a b.txt\"}\n").unwrap();
    let original = std::fs::read(src.join("a b.txt")).unwrap();
    for (template, stored) in [
        ("/dav/fixed.txt", "dav/fixed.txt"),
        ("/dav/w/{stem}.v1.{ext}", "dav/w/src/a b.v1.txt"),
    ] {
        let out = run(fw_batch(tmp.path())
            .args(["-q", "--put", &nginx.url(template), "--manifest"])
            .arg(&manifest));
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let stored = std::fs::read(nginx.dav_root().join(stored)).unwrap();
        assert!(stored == original, "{template}");
    }
}

#[test]
fn put_refuses_templates_that_would_overwrite_or_escape() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_folder(&src);
    // Nothing listens on the port: a usage error must come before any connection.
    let dead = "http://127.0.0.1:1";
    for args in [
        vec!["--put".to_string(), format!("{dead}/bucket/fixed.bin")],
        vec!["--put".to_string(), format!("{dead}/bucket/{{stem}}")],
        vec!["--put".to_string(), format!("{dead}/bucket/{{nam}}")],
        vec!["--put".to_string(), format!("{dead}/bucket/{{name")],
        vec!["--put".to_string(), "/bucket/{name}".to_string()],
        vec![
            "--put".to_string(),
            format!("{dead}/{{name}}"),
            "--tus".to_string(),
            format!("{dead}/files/"),
        ],
        vec![
            "--put".to_string(),
            format!("{dead}/{{name}}"),
            "-F".to_string(),
            "a=b".to_string(),
        ],
        vec![
            "--put".to_string(),
            format!("{dead}/{{name}}"),
            "--chunk-size".to_string(),
            "1MiB".to_string(),
        ],
        vec![
            "--tus".to_string(),
            format!("{dead}/files/"),
            "--chunk-size".to_string(),
            "0".to_string(),
        ],
        vec![
            format!("{dead}/upload"),
            "--content-type".to_string(),
            "text/plain".to_string(),
        ],
    ] {
        let out = run(fw_batch(tmp.path()).args(&args).arg(&src));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
    let out = run(fw_batch(tmp.path())
        .args(["--put", &format!("{dead}/bucket/fixed.bin")])
        .arg(&src));
    assert!(stderr(&out).contains("add {name}"), "{}", stderr(&out));

    // A manifest name that climbs out of the prefix fails that file, before connecting.
    std::fs::write(tmp.path().join("outside.bin"), b"secret").unwrap();
    let manifest = src.join("list.jsonl");
    std::fs::write(
        &manifest,
        "{\"path\": \"../outside.bin\"}\n{\"path\": \"a b.txt\"}\n",
    )
    .unwrap();
    let out = run(fw_batch(tmp.path())
        .args([
            "--json",
            "--retries",
            "0",
            "--put",
            &format!("{dead}/b/{{name}}"),
        ])
        .arg("--manifest")
        .arg(&manifest));
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    let lines = json_lines(&out);
    let outside = lines.iter().find(|l| l["key"] == "../outside.bin").unwrap();
    assert_eq!(outside["tries"], 1, "{outside}");
    assert!(
        outside["error"]
            .as_str()
            .unwrap()
            .contains("cannot name an object"),
        "{outside}"
    );
}

/// The upload files (not their .json info) in a tus store, by SHA-256.
fn stored_hashes(store: &Path) -> BTreeSet<String> {
    std::fs::read_dir(store)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| sha(&std::fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn tus_sends_a_folder_and_a_rerun_sends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let Some(server) = TusServer::start(&store, None) else {
        return;
    };
    let src = tmp.path().join("src");
    let names = make_folder(&src);
    let tus = || {
        run(fw_batch(tmp.path())
            .args(["--json", "--workers", "2", "--chunk-size", "1000"])
            .args(["--tus", &server.endpoint()])
            .arg(&src))
    };
    let out = tus();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), names.len(), "{lines:?}");
    for line in &lines {
        assert_eq!(line["ok"], true, "{line}");
        let key = line["key_hex"].as_str().map_or_else(
            || line["key"].as_str().unwrap().as_bytes().to_vec(),
            |hex| {
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect()
            },
        );
        let stored = server.stored_file(line["url"].as_str().unwrap());
        assert!(
            std::fs::read(&stored).unwrap()
                == std::fs::read(src.join(OsStr::from_bytes(&key))).unwrap(),
            "{line}"
        );
        // The server was told the name and the sniffed type.
        let info: Value =
            serde_json::from_slice(&std::fs::read(stored.with_extension("json")).unwrap()).unwrap();
        let base = OsStr::from_bytes(&key);
        let base = Path::new(base).file_name().unwrap().to_string_lossy();
        assert_eq!(info["metadata"]["filename"], base.as_ref(), "{info}");
        if base == "e.png" {
            assert_eq!(info["metadata"]["filetype"], "image/png", "{info}");
        }
    }
    let before = server.bytes_read().unwrap();
    let out = tus();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(json_lines(&out).is_empty(), "{out:?}");
    // Only the stats request itself was read since (the smallest file has 3000 bytes).
    let read = server.bytes_read().unwrap() - before;
    assert!(read < 1000, "the rerun sent {read} bytes");

    // --content-type replaces the sniffed type the server is told.
    std::fs::write(
        tmp.path().join("receipt.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    let manifest = tmp.path().join("one.jsonl");
    std::fs::write(&manifest, "{\"path\": \"receipt.png\"}\n").unwrap();
    let out = run(fw_batch(tmp.path())
        .args(["--json", "--content-type", "application/x-receipt"])
        .args(["--tus", &server.endpoint(), "--manifest"])
        .arg(&manifest));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line = &json_lines(&out)[0];
    let stored = server.stored_file(line["url"].as_str().unwrap());
    let info: Value =
        serde_json::from_slice(&std::fs::read(stored.with_extension("json")).unwrap()).unwrap();
    assert_eq!(
        info["metadata"]["filetype"], "application/x-receipt",
        "{info}"
    );
    assert_eq!(info["metadata"]["filename"], "receipt.png", "{info}");
}

/// A TCP proxy to `upstream` forwarding client bytes at about `bytes_per_sec`, so that a
/// loopback upload takes long enough to be killed halfway.
fn throttling_proxy(upstream: u16, bytes_per_sec: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                let pause = Duration::from_secs_f64(buf.len() as f64 / bytes_per_sec as f64);
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    std::thread::sleep(pause);
                }
                let _ = s_out.shutdown(Shutdown::Both);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_tus_batch_killed_midway_resumes_the_half_sent_file_and_skips_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let Some(server) = TusServer::start(&store, None) else {
        return;
    };
    let src = tmp.path().join("src");
    let names = make_folder(&src);
    // Sorted last by its bytes (ω is CF 89), so with one worker it is the file in flight when the run is killed.
    let big_size = 12 * 1024 * 1024;
    let big: OsString = "ω big.bin".into();
    std::fs::write(src.join(&big), noise(99, big_size)).unwrap();
    let total: u64 = names
        .iter()
        .map(|n| {
            std::fs::metadata(src.join(OsStr::from_bytes(n)))
                .unwrap()
                .len()
        })
        .sum::<u64>()
        + big_size as u64;
    let proxy = throttling_proxy(server.port, 6 * 1024 * 1024);
    let endpoint = format!("http://127.0.0.1:{proxy}/files/");
    let args = |json: bool| {
        let mut c = fw_batch(tmp.path());
        c.args(["--workers", "1", "--chunk-size", "1MiB", "--tus", &endpoint])
            .arg(&src);
        if json {
            c.arg("--json");
        }
        c
    };

    let mut first = args(false)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let largest = || {
        std::fs::read_dir(&store)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| e.metadata().ok().map(|m| m.len()))
            .max()
            .unwrap_or(0)
    };
    loop {
        assert!(Instant::now() < deadline, "the big file never got halfway");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before it could be killed"
        );
        if largest() >= big_size as u64 / 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(largest() < big_size as u64, "killed before the end");

    let out = run(&mut args(true));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "only the half-sent file is sent: {lines:?}");
    assert_eq!(lines[0]["key"], "ω big.bin");
    let resumed_at = lines[0]["resumed_at"].as_u64().expect("resumed");
    assert!(resumed_at >= big_size as u64 / 2, "{}", lines[0]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} of {} files already uploaded",
            names.len(),
            names.len() + 1
        )),
        "{err}"
    );
    assert!(err.contains("continuing their tus uploads"), "{err}");

    // Every file is in the store, identical; the big one once, not twice.
    let stored = stored_hashes(&store);
    for name in names
        .iter()
        .map(|n| src.join(OsStr::from_bytes(n)))
        .chain([src.join(&big)])
    {
        let want = sha(&std::fs::read(&name).unwrap());
        assert!(
            stored.contains(&want),
            "{} is not in the store",
            name.display()
        );
    }
    let received = server.bytes_read().unwrap();
    assert!(
        received as f64 <= 1.15 * total as f64,
        "the server read {received} bytes for {total} bytes of files"
    );
    let remembered: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("filewire/tus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        remembered.is_empty(),
        "finished uploads are forgotten: {remembered:?}"
    );
}
