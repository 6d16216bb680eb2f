//! `fw-download -i LIST` against nginx and the testbed: 200 files with two liars, a rerun that
//! touches nothing, a batch killed mid-file and resumed, stdin lists, usage errors, and journals
//! kept in the state folder (never among the downloaded files).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testbed::Testbed;
use testbed::peers::Nginx;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// fw-download run in `dir`, its state folder (default journals) `dir/state`.
fn fw_download(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fw-download"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .expect("running fw-download");
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

struct Served {
    root: tempfile::TempDir,
    files: PathBuf,
    nginx: Nginx,
}

fn serve(extra: &str, fill: impl FnOnce(&Path)) -> Option<Served> {
    let root = tempfile::tempdir().unwrap();
    let files = root.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    fill(&files);
    let server = format!("location / {{ root {}; {extra} }}", files.display());
    let nginx = Nginx::start(&root.path().join("nginx"), "", &server)?;
    Some(Served { root, files, nginx })
}

fn content(i: usize) -> Vec<u8> {
    (0..(500 + i * 37))
        .map(|j| ((i * 31 + j * 7) % 251) as u8)
        .collect()
}

#[test]
fn two_hundred_files_two_liars_and_a_rerun_that_touches_nothing() {
    let Some(s) = serve("", |files| {
        for i in 0..200 {
            std::fs::write(files.join(format!("f{i:03}.bin")), content(i)).unwrap();
        }
        // nginx calls these image/jpeg; they are HTML error pages.
        for name in ["liar1.jpg", "liar2.jpg"] {
            std::fs::write(
                files.join(name),
                "<!DOCTYPE html><html><body>502</body></html>\n",
            )
            .unwrap();
        }
    }) else {
        return;
    };
    let mut list: Vec<String> = (0..200)
        .map(|i| s.nginx.url(&format!("/f{i:03}.bin")))
        .collect();
    list.insert(50, s.nginx.url("/liar1.jpg"));
    list.insert(150, s.nginx.url("/liar2.jpg"));
    let list_path = s.root.path().join("list.txt");
    std::fs::write(&list_path, list.join("\n") + "\n").unwrap();
    let out = s.root.path().join("out");
    let args = [
        "-i",
        list_path.to_str().unwrap(),
        "--output-dir",
        out.to_str().unwrap(),
        "--workers",
        "auto",
        "-q",
    ];

    let r = fw_download(s.root.path(), &args);
    assert_eq!(r.code, 7, "{}", r.stderr);
    for liar in ["liar1.jpg", "liar2.jpg"] {
        assert!(r.stderr.contains(liar), "{liar} not named: {}", r.stderr);
        assert!(!out.join(liar).exists());
    }
    let mut inodes = Vec::new();
    for i in 0..200 {
        let p = out.join(format!("f{i:03}.bin"));
        assert_eq!(std::fs::read(&p).unwrap(), content(i), "f{i:03}.bin");
        inodes.push(std::fs::metadata(&p).unwrap().ino());
    }
    let stray: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part") || n.ends_with(".fw-tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");

    let r = fw_download(s.root.path(), &args);
    assert_eq!(r.code, 7, "{}", r.stderr);
    for (i, ino) in inodes.iter().enumerate() {
        let p = out.join(format!("f{i:03}.bin"));
        assert_eq!(
            std::fs::metadata(&p).unwrap().ino(),
            *ino,
            "f{i:03}.bin touched"
        );
    }
    assert!(r.stderr.contains("liar1.jpg") && r.stderr.contains("liar2.jpg"));
}

#[test]
fn a_killed_batch_resumes_where_it_stopped() {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let Some(s) = serve("limit_rate 1m;", |files| {
        std::fs::write(files.join("small.bin"), b"small file\n").unwrap();
        std::fs::write(files.join("big.bin"), &big).unwrap();
    }) else {
        return;
    };
    let list = format!(
        "{}\n{}\n",
        s.nginx.url("/small.bin"),
        s.nginx.url("/big.bin")
    );
    let out = s.root.path().join("out");
    let args = [
        "-i",
        "-",
        "--output-dir",
        out.to_str().unwrap(),
        "--workers",
        "2",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_fw-download"))
        .args(args)
        .current_dir(s.root.path())
        .env("XDG_STATE_HOME", s.root.path().join("state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.as_bytes())
        .unwrap();
    // Kill it once the big file has a part on disk (nginx sends it at 1 MiB/s).
    let part = out.join("big.bin.part");
    let started = Instant::now();
    while std::fs::metadata(&part).map_or(true, |m| m.len() < 100_000) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no part appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("big.bin").exists());
    let cut = std::fs::metadata(&part).unwrap().len();
    assert!(cut < big.len() as u64);

    let r = Command::new(env!("CARGO_BIN_EXE_fw-download"))
        .args(["-i", "-", "--output-dir", out.to_str().unwrap(), "--json"])
        .current_dir(s.root.path())
        .env("XDG_STATE_HOME", s.root.path().join("state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(list.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let big_line = lines
        .iter()
        .find(|v| v["path"].as_str().unwrap().ends_with("big.bin"))
        .unwrap();
    assert_eq!(big_line["resumed"], true, "{big_line}");
    assert_eq!(std::fs::read(out.join("big.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read(out.join("small.bin")).unwrap(),
        b"small file\n"
    );
    let _ = &s.files;
}

#[test]
fn batch_usage_errors_and_bad_lists() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = fw_download(dir.path(), &["--workers", "4", &tb.url("/bytes/10")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = fw_download(dir.path(), &["-i", "list.txt", &tb.url("/bytes/10")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    std::fs::write(dir.path().join("bad.txt"), "http://h/ok\nnot a url\n").unwrap();
    let r = fw_download(dir.path(), &["-i", "bad.txt"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    // A small good list: summary line, one line per file, exit 0.
    std::fs::write(
        dir.path().join("good.txt"),
        format!(
            "{}\n{}\n",
            tb.url("/bytes/10?seed=1"),
            tb.url("/bytes/20?seed=2")
        ),
    )
    .unwrap();
    let r = fw_download(
        dir.path(),
        &["-i", "good.txt", "--output-dir", "o", "--shard", "0/1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(r.stderr.contains("2 files: 2 ok"), "{}", r.stderr);
    assert!(dir.path().join("o/10").exists() && dir.path().join("o/20").exists());
}

#[test]
fn json_lines_lists_carry_per_file_checks_and_outcomes() {
    use sha2::Digest;
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut testbed::PseudoRandomBytes::new(4, 300), &mut body).unwrap();
    let good: String = sha2::Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let url = tb.url("/bytes/300?seed=4");
    let list = format!(
        "{{\"url\": \"{url}\", \"path\": \"ok/a.bin\", \"sha256\": \"{good}\"}}\n\
         {{\"url\": \"{url}\", \"path\": \"bad-sum.bin\", \"sha256\": \"{}\"}}\n\
         {{\"url\": \"{url}\", \"path\": \"bad-type.bin\", \"accept\": \"image/*\"}}\n",
        "0".repeat(64)
    );
    std::fs::write(dir.path().join("list.jsonl"), list).unwrap();
    let r = fw_download(
        dir.path(),
        &[
            "-i",
            "list.jsonl",
            "--output-dir",
            "out",
            "--json",
            "--workers",
            "2",
        ],
    );
    assert_eq!(r.code, 7, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    let by_path = |suffix: &str| {
        lines
            .iter()
            .find(|v| v["path"].as_str().unwrap().ends_with(suffix))
            .unwrap()
            .clone()
    };
    assert_eq!(by_path("ok/a.bin")["ok"], true);
    assert_eq!(by_path("ok/a.bin")["sha256"], good.as_str());
    assert_eq!(by_path("bad-sum.bin")["exit_code"], 6);
    assert_eq!(by_path("bad-type.bin")["exit_code"], 3);
    assert_eq!(
        std::fs::read(dir.path().join("out/ok/a.bin")).unwrap(),
        body
    );
    assert!(!dir.path().join("out/bad-sum.bin").exists());
    assert!(!dir.path().join("out/bad-type.bin").exists());
    assert!(r.stderr.contains("bad-sum.bin") && r.stderr.contains("bad-type.bin"));
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn journals_live_in_the_state_folder_and_the_output_folder_holds_only_the_files() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 2 MiB goes through a resumable part and its sidecar, the small ones through temp files.
    let list = format!(
        "{}\n{}\n{}\n",
        tb.url("/bytes/100?seed=1"),
        tb.url("/bytes/200?seed=2"),
        tb.url("/bytes/2097152?seed=3")
    );
    std::fs::write(dir.path().join("list.txt"), &list).unwrap();
    let args = ["-i", "list.txt", "--output-dir", "out"];
    let r = fw_download(dir.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = dir.path().join("out");
    assert_eq!(names(&out), ["100", "200", "2097152"]);
    let journals = dir.path().join("state/filewire/journals");
    let first = names(&journals);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].starts_with("download-list.txt-") && first[0].ends_with(".jsonl"),
        "{first:?}"
    );

    // The same command again resumes from that journal: every file skipped, nothing new written.
    let r = fw_download(dir.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("3 ok (3 skipped as complete)"),
        "{}",
        r.stderr
    );
    assert_eq!(names(&out), ["100", "200", "2097152"]);
    assert_eq!(names(&journals), first);

    // Another output folder, a shard, or the same list on stdin: each its own journal.
    let r = fw_download(dir.path(), &["-i", "list.txt", "--output-dir", "out2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = fw_download(
        dir.path(),
        &["-i", "list.txt", "--output-dir", "out4", "--shard", "0/2"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let piped = Command::new(env!("CARGO_BIN_EXE_fw-download"))
        .args(["-i", "-", "--output-dir", "out3", "-q"])
        .current_dir(dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(list.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(piped.success());
    let all = names(&journals);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(
        all.iter().any(|n| n.ends_with(".shard-0-of-2.jsonl")),
        "{all:?}"
    );
    assert!(
        all.iter().any(|n| n.starts_with("download-stdin-")),
        "{all:?}"
    );
    for folder in ["out2", "out3"] {
        assert_eq!(names(&dir.path().join(folder)), ["100", "200", "2097152"]);
    }

    // A journal the old default left in the output folder is named, with how to use it.
    std::fs::create_dir(dir.path().join("out5")).unwrap();
    std::fs::write(dir.path().join("out5/.fw-download.journal.jsonl"), "").unwrap();
    let r = fw_download(dir.path(), &["-i", "list.txt", "--output-dir", "out5"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(".fw-download.journal.jsonl is an older journal")
            && r.stderr.contains("--journal"),
        "{}",
        r.stderr
    );
}
