//! The HTML report of a real batch, checked as a file and as a real browser renders it
//! (headless Chromium from Debian's `chromium` package; `cargo xtask test` installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use image::ImageEncoder as _;
use scan_output::{Scanned, THUMBNAIL_WIDTH, save_report};

/// The batch of the other tests, plus a photo stored sideways with an EXIF orientation and a
/// merchant that looks like markup.
fn report_batch(dir: &Path) -> Vec<Scanned> {
    let mut scans = common::batch(dir);
    scans.push(common::scan_image(&sideways_photo(dir)));
    let script = dir.join("script merchant.txt");
    std::fs::write(
        &script,
        "<script>document.title='pwned'</script>\nDate: 01/02/2024\nTotal EUR 1.00\n",
    )
    .unwrap();
    scans.push(common::scan_text(&script));
    scans
}

/// `fixtures/images/receipt.png` (400×300) stored rotated a quarter turn left, 300×400, with the
/// EXIF orientation 6 ("rotate 90° clockwise to display") that phone cameras write.
fn sideways_photo(dir: &Path) -> PathBuf {
    let upright = image::open(common::fixtures().join("images/receipt.png")).unwrap();
    let stored = upright.rotate270().to_rgb8();
    // A little-endian TIFF header and one IFD entry: tag 0x0112 (Orientation), SHORT, 1, 6.
    let exif: Vec<u8> = [
        &b"II\x2a\x00\x08\x00\x00\x00"[..],
        &[1, 0],
        &[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0],
        &[0, 0, 0, 0],
    ]
    .concat();
    let path = dir.join("phone photo (sideways).jpg");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 90);
    encoder.set_exif_metadata(exif).unwrap();
    encoder
        .write_image(&stored, 300, 400, image::ExtendedColorType::Rgb8)
        .unwrap();
    path
}

/// The thumbnail embedded for the image whose path ends in `name`, decoded.
fn thumbnail_in(html: &str, name: &str) -> image::DynamicImage {
    let img = html
        .split("<img ")
        .skip(1)
        .find(|tag| tag.split('>').next().unwrap().contains(name))
        .unwrap_or_else(|| panic!("no <img> for {name}"));
    let data = img
        .strip_prefix("src=\"data:image/jpeg;base64,")
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap()
}

#[test]
fn the_page_embeds_upright_scaled_thumbnails_and_sums_per_currency() {
    let dir = tempfile::tempdir().unwrap();
    let scans = report_batch(dir.path());
    let path = dir.path().join("Receipts März.html");
    save_report(&path, &scans).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();

    // 400×300 originals scaled to 320 wide; the sideways photo turned upright first.
    for name in [
        "IMG 0042 copy.jpg",
        "scan from phone.webp",
        "phone photo (sideways).jpg",
    ] {
        let thumb = thumbnail_in(&html, name);
        assert_eq!(
            (thumb.width(), thumb.height()),
            (THUMBNAIL_WIDTH, 240),
            "{name}"
        );
    }
    // upright: the text's dark pixels are in the top-left corner, as on the original
    let sideways = thumbnail_in(&html, "sideways").to_luma8();
    let dark_top_left = (0..60)
        .flat_map(|y| (0..160).map(move |x| (x, y)))
        .filter(|&(x, y)| sideways.get_pixel(x, y).0[0] < 100)
        .count();
    assert!(
        dark_top_left > 100,
        "{dark_top_left} dark pixels where CORNER CAFE is"
    );

    assert!(
        html.contains("data-currency=\"EUR\">8.60</td>"),
        "7.60 + 1.00"
    );
    assert!(html.contains("data-currency=\"USD\">23.06</td>"));
    assert!(html.contains("data-currency=\"SGD\">5.70</td>"));
    assert!(
        html.contains("data-currency=\"\">23.25</td>"),
        "3 × 7.75 without a currency"
    );
    assert!(html.contains("1 receipt without a total is not in these sums"));
    assert!(!html.contains("<script>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    // nothing left beside the report
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".html") || n.contains(".tmp"))
        .collect();
    names.sort();
    assert_eq!(names, ["Receipts März.html"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        assert_eq!(mode(&path), mode(&plain), "the mode a plain create gives");
    }
}

#[test]
fn every_image_kind_of_the_fixtures_gets_a_thumbnail() {
    let dir = tempfile::tempdir().unwrap();
    let kinds = ["jpg", "png", "gif", "webp", "bmp", "tiff"];
    let scans: Vec<Scanned> = kinds
        .iter()
        .map(|ext| {
            let name = format!("receipt photo.{ext}");
            common::scan_image(&common::copy(
                dir.path(),
                &format!("images/receipt.{ext}"),
                &name,
            ))
        })
        .collect();
    let mut html = Vec::new();
    scan_output::write_report(&mut html, &scans).unwrap();
    let html = String::from_utf8(html).unwrap();
    for ext in kinds {
        let thumb = thumbnail_in(&html, &format!("receipt photo.{ext}"));
        assert_eq!(
            (thumb.width(), thumb.height()),
            (THUMBNAIL_WIDTH, 240),
            "{ext}"
        );
    }
    // a file that is no image says so instead of a picture
    let fake = common::copy(dir.path(), "disguised/photo.jpg", "not a photo.jpg");
    let mut html = Vec::new();
    scan_output::write_report(&mut html, &[common::scan_image(&fake)]).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("<p class=\"noimage\">no preview: "), "{html}");
}

#[test]
fn a_report_that_cannot_be_written_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no such folder/report.html");
    let err = save_report(&path, &[]).unwrap_err();
    assert!(
        err.to_string().contains("no such folder/report.html"),
        "{err}"
    );
}

/// Chromium on this machine, or `None` (a skip, or a failure under FILEWIRE_REQUIRE_PEERS=1).
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FILEWIRE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    testbed::peers::missing("chromium", "apt-get install chromium")
}

/// A `file://` URL for an absolute path, percent-encoding all but unreserved bytes and `/`.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Runs headless Chromium on `url` with `args`; returns its stdout. Fails after two minutes.
fn run_chromium(chromium: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium failed: {status}");
    reader.join().unwrap()
}

#[test]
fn chromium_renders_the_report_with_its_numbers() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scans = report_batch(dir.path());
    let path = dir.path().join("Receipts März.html");
    save_report(&path, &scans).unwrap();
    let url = file_url(&path);
    let profile = dir.path().join("chromium profile");

    let dom = run_chromium(&chromium, &profile, &["--dump-dom"], &url);
    assert!(dom.contains("<h1>Receipts</h1>"), "{dom}");
    for number in [
        "8.60", "23.06", "5.70", "23.25", "7.75", "17.98", "1.48", "3.60",
    ] {
        assert!(dom.contains(number), "{number} is not in the rendered page");
    }
    for text in [
        "Café Müller",
        "東京ストア",
        "broken photo.jpg",
        "⚠ low",
        "no total.txt",
    ] {
        assert!(dom.contains(text), "{text} is not in the rendered page");
    }
    assert_eq!(dom.matches("<img src=\"data:image/jpeg;base64,").count(), 3);
    // the markup-like merchant stayed text: no script element, and the page title is untouched
    assert!(!dom.contains("<script"), "a script element was created");
    assert!(dom.contains("&lt;script&gt;document.title"));
    assert!(dom.contains("<title>Receipts: 9 scanned</title>"));

    let shot = dir.path().join("shot.png");
    run_chromium(
        &chromium,
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
        &url,
    );
    let png = image::open(&shot).expect("a PNG screenshot").to_rgb8();
    assert_eq!((png.width(), png.height()), (1200, 1600));
    let pixels = png.pixels().count();
    let ink = png
        .pixels()
        .filter(|p| p.0.iter().all(|&c| c < 128))
        .count();
    assert!(
        ink * 200 > pixels,
        "the page is blank: {ink} dark pixels of {pixels}"
    );
    // the low-confidence highlight (#fff3cd) was painted: the inline CSS applied
    let highlight = png
        .pixels()
        .filter(|p| p.0[0] > 245 && (235..=250).contains(&p.0[1]) && (195..=215).contains(&p.0[2]))
        .count();
    assert!(
        highlight > 50,
        "no low-confidence highlight painted ({highlight} pixels)"
    );
}
