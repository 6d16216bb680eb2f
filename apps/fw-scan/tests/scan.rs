//! fw-scan as a user runs it: the binary, real files, the testbed's OCR.space endpoint and the
//! real tesseract on the shared SROIE scans.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use testbed::Testbed;
use testbed::peers::{missing, shared_data};

const SECRET: &str = "sEcReT-k3y-never-shown";

fn fw_scan(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fw-scan"));
    // Journals go under target/tmp, not into the user's state folder.
    cmd.current_dir(dir)
        .env_remove("OCRSPACE_API_KEY")
        .env(
            "XDG_STATE_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("fw-scan-state"),
        )
        .env("NO_COLOR", "1");
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A small PNG-looking file: the testbed does no real OCR.
fn png(dir: &Path, size: usize) -> PathBuf {
    let path = dir.join("receipt.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(size, 7);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn ocrspace_args(server: &Testbed, scenario: &str, image: &Path) -> Vec<String> {
    vec![
        "--engine".into(),
        "ocrspace".into(),
        "--endpoint".into(),
        server.url(&format!("/parse/image?scenario={scenario}")),
        "--json".into(),
        image.display().to_string(),
    ]
}

#[test]
fn environment_key_wins_over_dotenv_and_is_never_printed() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "OCRSPACE_API_KEY=invalid\n").unwrap();
    let image = png(dir.path(), 3000);
    let out = fw_scan(dir.path())
        .env("OCRSPACE_API_KEY", SECRET)
        .args(ocrspace_args(&server, "success", &image))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["engine"], "ocrspace");
    assert!(lines[0]["receipt"].is_object());
    assert!(!stderr.contains("demo key"), "{stderr}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

#[test]
fn dotenv_key_is_used_when_the_environment_has_none() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "OCRSPACE_API_KEY=invalid\n").unwrap();
    let image = png(dir.path(), 3000);
    let out = fw_scan(dir.path())
        .args(ocrspace_args(&server, "success", &image))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
    assert!(stderr.contains("refused the api key"), "{stderr}");
    assert_eq!(json_lines(&stdout)[0]["exit_code"], 4);
}

#[test]
fn demo_key_is_used_with_a_warning_when_no_key_is_configured() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = png(dir.path(), 3000);
    let out = fw_scan(dir.path())
        .args(ocrspace_args(&server, "success", &image))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("demo key"),
        "{stderr}"
    );
    assert!(!stderr.contains("helloworld"), "{stderr}");
}

#[test]
fn key_from_dotenv_never_appears_even_on_errors() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("OCRSPACE_API_KEY=\"{SECRET}\"\n"),
    )
    .unwrap();
    let image = png(dir.path(), 3000);
    for (scenario, code, needle) in [
        ("throttled", 4, "at most 10 requests within 600 s"),
        ("error", 4, "Parameter name 'file' is invalid"),
        ("timeout", 4, "Timed out waiting for results"),
        ("partial", 4, "recognised only part"),
    ] {
        let out = fw_scan(dir.path())
            .args(ocrspace_args(&server, scenario, &image))
            .args(["--with-text", "--retries", "0"])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{scenario}: {stdout}\n{stderr}"
        );
        assert!(stderr.contains(needle), "{scenario}: {stderr}");
        assert!(
            !stdout.contains(SECRET) && !stderr.contains(SECRET),
            "{scenario} leaked the key"
        );
    }
}

#[test]
fn image_over_the_plan_limit_is_refused_with_exit_3_and_no_connection() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = png(dir.path(), 1024 * 1024 + 10);
    let out = fw_scan(dir.path())
        .env("OCRSPACE_API_KEY", SECRET)
        .args(ocrspace_args(&server, "success", &image))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("over the 1048576-byte limit"), "{stderr}");
    assert_eq!(server.stats().connections, 0);
}

#[test]
fn text_files_skip_ocr_and_are_parsed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lunch.txt"),
        "CAFE KRONE GmbH\r\nDatum 24.12.2019\r\nKaffee 2,80\r\nKuchen 3,90\r\nSumme EUR 6,70\r\n",
    )
    .unwrap();
    let out = fw_scan(dir.path())
        .args([
            "--tesseract",
            "/nonexistent/tesseract",
            "--json",
            "lunch.txt",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let line = &json_lines(&stdout)[0];
    assert_eq!(line["image"], "lunch.txt");
    assert_eq!(line["receipt"]["date"], "2019-12-24");
    assert_eq!(
        line["receipt"]["total"].to_string().trim_matches('"'),
        "6.70"
    );
}

#[test]
fn missing_tesseract_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = png(dir.path(), 3000);
    let out = fw_scan(dir.path())
        .args([
            "--engine",
            "tesseract",
            "--tesseract",
            "/nonexistent/tesseract",
        ])
        .arg(&image)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("tesseract program not found at /nonexistent/tesseract"),
        "{stderr}"
    );
}

#[test]
fn batch_with_a_failed_item_reports_it_and_exits_7() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "SHOP\nTOTAL 12.50\n").unwrap();
    let out = fw_scan(dir.path())
        .args(["--json", "--workers", "2", "a.txt", "missing.txt"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stdout}\n{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["image"], "a.txt");
    assert!(lines[0]["receipt"].is_object());
    assert_eq!(lines[1]["image"], "missing.txt");
    assert!(lines[1]["error"].as_str().unwrap().contains("not found"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let none = fw_scan(dir.path()).output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    let bad = fw_scan(dir.path())
        .args(["--engine", "magic", "x.jpg"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let help = fw_scan(dir.path()).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--engine"));
}

/// The amount in a truth label ("RM 22.90", "9.00") as cents.
fn cents(s: &str) -> Option<i64> {
    let digits: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let value: f64 = digits.trim_matches('.').parse().ok()?;
    Some((value * 100.0).round() as i64)
}

/// End to end on the 8 real SROIE scans: tesseract (2 workers) then receipt-parse, totals
/// compared as numbers with the dataset's truth. ARCHITECTURE.md (Accuracy targets) asks for at least 90 %, which on 8
/// images means all 8; that is also what was measured when this test was written (psm 4).
#[test]
fn real_receipt_scans_end_to_end_with_two_workers() {
    let Some(data) = shared_data() else { return };
    let tesseract_found = Command::new("tesseract")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tesseract_found {
        missing::<()>("the tesseract program", "apt-get install tesseract-ocr");
        return;
    }
    let images = data.join("sroie").join("images");
    let truth: Vec<Value> = std::fs::read_to_string(images.join("images.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(truth.len(), 8);
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = fw_scan(dir.path());
    cmd.args([
        "--engine",
        "tesseract",
        "--json",
        "--workers",
        "2",
        "--progress",
        "never",
    ]);
    for t in &truth {
        cmd.arg(images.join(t["image"].as_str().unwrap()));
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 8);
    let mut right = 0;
    for (line, t) in lines.iter().zip(&truth) {
        assert!(
            line["image"]
                .as_str()
                .unwrap()
                .ends_with(t["image"].as_str().unwrap())
        );
        let got = line["receipt"]["total"].as_str().and_then(cents);
        let want = cents(t["truth"]["total"].as_str().unwrap());
        if got.is_some() && got == want {
            right += 1;
        } else {
            eprintln!("{}: total {got:?}, truth {want:?}", t["id"]);
        }
    }
    eprintln!("end to end totals: {right}/8");
    assert!(
        right * 100 >= 90 * 8,
        "only {right}/8 totals right end to end (ARCHITECTURE.md: at least 90 %)"
    );
}

/// Whether the PP-OCR models are installed where fw-scan looks by default.
fn ppocr_models() -> Option<()> {
    let dir = ocr_client::models::default_dir()?;
    match ocr_client::models::verify(&dir) {
        Ok(()) => Some(()),
        Err(e) => missing(&format!("the PP-OCR models ({e})"), "cargo xtask models"),
    }
}

/// End to end on the 8 real SROIE scans with the default engine (ppocr, 2 workers): every
/// total right, as measured when this test was written.
#[test]
fn real_receipt_scans_end_to_end_with_ppocr() {
    let Some(data) = shared_data() else { return };
    let Some(()) = ppocr_models() else { return };
    let images = data.join("sroie").join("images");
    let truth: Vec<Value> = std::fs::read_to_string(images.join("images.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = fw_scan(dir.path());
    cmd.args(["--json", "--workers", "2", "--progress", "never"]);
    for t in &truth {
        cmd.arg(images.join(t["image"].as_str().unwrap()));
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), truth.len());
    let mut right = 0;
    for (line, t) in lines.iter().zip(&truth) {
        assert_eq!(line["engine"], "ppocr");
        let got = line["receipt"]["total"].as_str().and_then(cents);
        let want = cents(t["truth"]["total"].as_str().unwrap());
        if got.is_some() && got == want {
            right += 1;
        } else {
            eprintln!("{}: total {got:?}, truth {want:?}", t["id"]);
        }
    }
    assert_eq!(
        right,
        truth.len(),
        "ppocr end to end totals: {right}/{}",
        truth.len()
    );
}

#[test]
fn ppocr_with_a_models_folder_lacking_the_models_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("receipt.png");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.png"),
        &image,
    )
    .unwrap();
    let empty = dir.path().join("no-models");
    std::fs::create_dir(&empty).unwrap();
    let out = fw_scan(dir.path())
        .args(["--engine", "ppocr", "--models"])
        .arg(&empty)
        .arg(&image)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("ch_PP-OCRv4_det_infer.onnx is missing"),
        "{stderr}"
    );
    assert!(stderr.contains("--install-models"), "{stderr}");
    // Nothing was written into a folder the user named.
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

#[test]
fn ppocr_reads_the_fixture_receipt() {
    let Some(()) = ppocr_models() else { return };
    let dir = tempfile::tempdir().unwrap();
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.jpg");
    let out = fw_scan(dir.path())
        .args(["--json", "--with-text", "--workers", "1"])
        .arg(&image)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let line = &json_lines(&stdout)[0];
    assert_eq!(line["engine"], "ppocr");
    assert!(
        line["text"].as_str().unwrap().starts_with("CORNERCAFE\n"),
        "{stdout}"
    );
    assert_eq!(line["receipt"]["total"], "7.75", "{stdout}");
}

#[test]
fn csv_report_and_renames_from_text_receipts_with_odd_names() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let cafe = dir.path().join("Café receipt 1.txt");
    std::fs::copy(fixtures.join("scan-output/cafe-mueller.txt"), &cafe).unwrap();
    let us = dir.path().join("us receipt.txt");
    std::fs::copy(fixtures.join("receipts/us.txt"), &us).unwrap();
    let csv = dir.path().join("out/receipts.csv");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let report = dir.path().join("out/report.html");

    // The plan first: nothing renamed.
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let out = fw_scan(dir.path())
        .arg(&cafe)
        .arg(&us)
        .args(["--rename", "{date}_{merchant}_{total}", "--dry-run"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before.len(), after.len());
    assert!(cafe.exists() && us.exists());

    // Then for real, with a CSV and a report.
    let out = fw_scan(dir.path())
        .arg(&cafe)
        .arg(&us)
        .args(["--rename", "{date}_{merchant}_{total}", "--csv"])
        .arg(&csv)
        .arg("--report")
        .arg(&report)
        .arg("--json")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(json_lines(&stdout).len(), 2, "stdout holds JSON Lines only");
    assert!(!cafe.exists() && !us.exists(), "renamed: {stderr}");
    let table = std::fs::read_to_string(&csv).unwrap();
    let mut rows = table.lines();
    assert!(rows.next().unwrap().starts_with("file,merchant,date"));
    assert_eq!(rows.count(), 2);
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.contains("<html") && !page.contains("http://") && !page.contains("https://"));
}

#[test]
fn a_missing_input_or_a_text_file_named_as_an_image_is_refused_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = fw_scan(dir.path())
        .args(["no-such-receipt.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let fake = dir.path().join("photo.jpg");
    std::fs::write(&fake, "TOTAL 9.00\n").unwrap();
    let out = fw_scan(dir.path())
        .arg(&fake)
        .args(["--engine", "tesseract"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("not an image"), "{stderr}");
}

/// The fixture receipt ("TOTAL 7.75") as a phone photographs it: 3000 x 2250, noisy, a JPEG of
/// over 3 MB.
fn noisy_photo(dir: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.png");
    let small = image::open(fixture).unwrap().into_rgb8();
    let big = image::imageops::resize(&small, 3000, 2250, image::imageops::FilterType::Triangle);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 49) as i16 - 24
    };
    let noisy = image::RgbImage::from_fn(big.width(), big.height(), |x, y| {
        let p = big.get_pixel(x, y).0;
        image::Rgb(p.map(|v| (i16::from(v) + noise()).clamp(0, 255) as u8))
    });
    let path = dir.join("IMG 2041 (café).jpg");
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&noisy)
        .unwrap();
    std::fs::write(&path, jpeg).unwrap();
    path
}

#[test]
fn a_phone_photo_over_the_plan_limit_is_shrunk_sent_and_scanned() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = noisy_photo(dir.path());
    let original = std::fs::read(&photo).unwrap();
    assert!(original.len() > 3_600_000, "{} bytes", original.len());
    let csv = dir.path().join("receipts.csv");
    let out = fw_scan(dir.path())
        .env("OCRSPACE_API_KEY", SECRET)
        .args([
            "--engine",
            "ocrspace",
            "--endpoint",
            &server.url("/parse/image?scenario=echo-text&text_hint=CORNER%20CAFE%0ADate%3A%2012%2F03%2F2024%0ATOTAL%207.75"),
            "--json",
            "--csv",
        ])
        .arg(&csv)
        .arg(&photo)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(json_lines(&stdout)[0]["receipt"]["total"], "7.75");
    // The endpoint refuses files over 1024 KB: one request that succeeded saw less.
    assert_eq!(server.stats().ocr_requests, 1);
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("re-encoded"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    let sent: u64 = said[0]
        .split("JPEG of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(sent <= 1_048_576, "{stderr}");
    // The figure the README quotes: `cargo test -p fw-scan --test scan phone_photo -- --nocapture`.
    eprintln!("{}", said[0]);
    assert!(said[0].contains(&format!("{} bytes is over", original.len())));
    assert_eq!(
        std::fs::read(&photo).unwrap(),
        original,
        "the photo is unchanged"
    );
    assert!(std::fs::read_to_string(&csv).unwrap().contains("7.75"));
    let everything = format!("{stdout}{stderr}{}", std::fs::read_to_string(&csv).unwrap());
    assert!(!everything.contains(SECRET));

    // A limit no JPEG of it meets: refused before sending (exit 3), saying what was tried.
    let out = fw_scan(dir.path())
        .env("OCRSPACE_API_KEY", SECRET)
        .args(["--max-file-size", "3000", "--no-journal"])
        .args(ocrspace_args(&server, "success", &photo))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("as a JPEG of 320 x 240 pixels; not sent"),
        "{stderr}"
    );
    assert_eq!(server.stats().ocr_requests, 1, "nothing more was sent");
}

#[test]
fn a_throttled_key_is_waited_for_with_a_message_and_never_shown() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = png(dir.path(), 3000);
    let out = fw_scan(dir.path())
        .env("OCRSPACE_API_KEY", SECRET)
        .args(ocrspace_args(
            &server,
            "throttle-first&n=1&window=1&text_hint=TOTAL%203.20",
            &image,
        ))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("OCR.space throttled this key; retrying in 1 s (attempt 2 of 4)"),
        "{stderr}"
    );
    assert_eq!(json_lines(&stdout)[0]["receipt"]["total"], "3.20");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    // With no retries the throttle is final (exit 4), said as such.
    let out = fw_scan(dir.path())
        .env("OCRSPACE_API_KEY", SECRET)
        .args(ocrspace_args(
            &server,
            "throttle-first&n=5&window=1",
            &image,
        ))
        .args(["--retries", "0", "--no-journal"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
    assert!(!stderr.contains("retrying"), "{stderr}");
}

#[test]
fn a_server_echoing_the_key_escaped_never_gets_it_printed() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = png(dir.path(), 3000);
    // A key JSON has to escape: `/` (as `\/` or not) and a quote.
    let key = "sEcReT/k3y\"never-shown";
    let escaped_unicode: String = key
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    for (scenario, code) in [("echo-key", 0), ("echo-key-error", 4), ("echo-key-500", 4)] {
        for spelling in ["unicode", "mixed"] {
            let out = fw_scan(dir.path())
                .env("OCRSPACE_API_KEY", key)
                .args(ocrspace_args(
                    &server,
                    &format!("{scenario}&spelling={spelling}"),
                    &image,
                ))
                .args(["--with-text", "--retries", "0", "--no-journal"])
                .output()
                .unwrap();
            let (stdout, stderr) = text(&out);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{scenario}: {stdout}\n{stderr}"
            );
            let shown = format!("{stdout}\n{stderr}");
            assert!(shown.contains("***"), "{scenario} {spelling}: {shown}");
            assert!(!shown.contains(key), "{scenario} {spelling}: {shown}");
            assert!(!shown.contains(&escaped_unicode), "{scenario}: {shown}");
            assert!(!shown.contains("k3y"), "{scenario} {spelling}: {shown}");
            assert!(
                !shown.contains("\\u006b3y"),
                "{scenario} {spelling}: {shown}"
            );
            assert!(
                !shown.contains("\\u006B3y"),
                "{scenario} {spelling}: {shown}"
            );
        }
    }
}

#[test]
fn a_dotenv_with_a_bom_and_a_bad_line_is_read_and_the_line_named() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut dotenv = b"\xef\xbb\xbf# settings\nOCRSPACE_API_KEY=L\xe4tin1-".to_vec();
    dotenv.extend_from_slice(SECRET.as_bytes());
    dotenv.extend_from_slice(format!("\nOCRSPACE_API_KEY={SECRET}\n").as_bytes());
    std::fs::write(dir.path().join(".env"), dotenv).unwrap();
    let image = png(dir.path(), 3000);
    let out = fw_scan(dir.path())
        .args(ocrspace_args(&server, "success", &image))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("line 2 is not UTF-8"), "{stderr}");
    assert!(!stderr.contains("demo key"), "{stderr}");
    assert!(
        !stderr.contains(SECRET) && !stderr.contains("tin1"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_dotenv_that_is_a_fifo_or_a_device_is_not_read() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = png(dir.path(), 3000);
    let dotenv = dir.path().join(".env");
    assert!(
        Command::new("mkfifo")
            .arg(&dotenv)
            .status()
            .unwrap()
            .success()
    );
    for what in ["FIFO", "device"] {
        if what == "device" {
            std::fs::remove_file(&dotenv).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &dotenv).unwrap();
        }
        let mut child = fw_scan(dir.path())
            .args(ocrspace_args(&server, "success", &image))
            .arg("--no-journal")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Opening a FIFO for reading waits for a writer; /dev/zero never ends: either would hang.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("fw-scan hung on a .env that is a {what}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stderr.contains(what) && stderr.contains("demo key"),
            "{stderr}"
        );
    }
}
