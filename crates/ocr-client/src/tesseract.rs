//! The local backend: runs the `tesseract` program and reads its TSV output.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{BoundingBox, OcrEngine, OcrError, OcrLine, OcrText};

/// Page-segmentation mode 4, "a single column of text of variable sizes". On the 8 SROIE dev
/// scans, fw-scan (this text, then receipt-parse) found 8/8 totals with mode 4 and 6/8 with
/// mode 6, the default of many receipt tools; measured 2026-11-25 with `fw-scan --psm 4|6 --json`
/// against `images.jsonl`.
pub const DEFAULT_PSM: u8 = 4;

/// How long one image may take before the program is killed (a receipt takes about a second).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the Tesseract program (`tesseract IMAGE - --psm N -l LANG tsv`) for each image.
///
/// By default it sets `OMP_THREAD_LIMIT=1` for the child: Tesseract's OpenMP threads spin and
/// made one receipt take 7 s instead of 1.2 s on a 2-core machine, and a pool scales by running
/// several single-threaded processes instead.
#[derive(Clone, Debug)]
pub struct Tesseract {
    program: PathBuf,
    language: String,
    psm: u8,
    omp_thread_limit: Option<u32>,
    config: Vec<(String, String)>,
    timeout: Option<Duration>,
    prepare: Option<Prepare>,
}

/// Cheap image preparation before Tesseract reads a picture: narrow scans enlarged (Tesseract
/// reads best with capital letters 20 to 30 pixels high; a 463-pixel-wide receipt scan has
/// them at about 10) and, optionally, binarised with Otsu's global threshold. The picture is
/// decoded by [`crate::picture`] (EXIF orientation applied), prepared as 8-bit grey and handed
/// to Tesseract as a temporary PNG; boxes are mapped back to the original's pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prepare {
    /// Pictures narrower than this are enlarged to it (bicubic), at most 3 times.
    pub min_width: u32,
    /// Binarise with Otsu's threshold (else the grey picture goes to Tesseract, which
    /// binarises on its own).
    pub binarize: bool,
}

impl Default for Prepare {
    fn default() -> Self {
        Prepare {
            min_width: 1200,
            binarize: false,
        }
    }
}

impl Default for Tesseract {
    fn default() -> Self {
        Tesseract::new()
    }
}

impl Tesseract {
    /// `tesseract` from PATH, English, [`DEFAULT_PSM`], one OpenMP thread.
    pub fn new() -> Tesseract {
        Tesseract {
            program: PathBuf::from("tesseract"),
            language: "eng".to_string(),
            psm: DEFAULT_PSM,
            omp_thread_limit: Some(1),
            config: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            prepare: None,
        }
    }

    /// The program to run (a name looked up on PATH, or a path).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Tesseract {
        self.program = program.into();
        self
    }

    /// Tesseract language code(s), e.g. `eng` or `eng+deu`.
    pub fn language(mut self, language: impl Into<String>) -> Tesseract {
        self.language = language.into();
        self
    }

    /// Page-segmentation mode (`--psm`, 0–13).
    pub fn psm(mut self, psm: u8) -> Tesseract {
        self.psm = psm;
        self
    }

    /// `OMP_THREAD_LIMIT` for the child; `None` leaves the environment alone.
    pub fn omp_thread_limit(mut self, threads: Option<u32>) -> Tesseract {
        self.omp_thread_limit = threads;
        self
    }

    /// Sets a Tesseract configuration variable (`-c NAME=VALUE`), e.g.
    /// `thresholding_method=2` for Sauvola binarisation.
    pub fn config(mut self, name: impl Into<String>, value: impl Into<String>) -> Tesseract {
        self.config.push((name.into(), value.into()));
        self
    }

    /// How long one image may take before Tesseract is killed; `None` waits forever.
    /// Default [`DEFAULT_TIMEOUT`].
    pub fn timeout(mut self, timeout: Option<Duration>) -> Tesseract {
        self.timeout = timeout;
        self
    }

    /// Prepares each picture before Tesseract reads it ([`Prepare`]); `None` hands the file over
    /// as it is.
    pub fn prepare(mut self, prepare: Option<Prepare>) -> Tesseract {
        self.prepare = prepare;
        self
    }

    /// Runs the program; `Ok(None)` when it was killed for taking longer than the timeout.
    fn run(&self, image: &Path) -> std::io::Result<Option<Output>> {
        let mut child = self
            .command(image)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("child pipes missing"));
        };
        // Readers on their own threads, so a full pipe never blocks the child; the stdout
        // reader reports when the child closed its end, which is when it is done.
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut buf).map(|_| buf)
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = tx.send(std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf));
        });
        let stdout = match self.timeout {
            Some(limit) => match rx.recv_timeout(limit) {
                Ok(read) => read?,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(None);
                }
            },
            None => rx
                .recv()
                .map_err(|_| std::io::Error::other("stdout reader vanished"))??,
        };
        let status = child.wait()?;
        let stderr = err_reader
            .join()
            .map_err(|_| std::io::Error::other("stderr reader panicked"))??;
        Ok(Some(Output {
            status,
            stdout,
            stderr,
        }))
    }

    fn command(&self, image: &Path) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.arg(image)
            .arg("-")
            .arg("--psm")
            .arg(self.psm.to_string())
            .arg("-l")
            .arg(&self.language);
        for (name, value) in &self.config {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        cmd.arg("tsv").stdin(Stdio::null());
        if let Some(n) = self.omp_thread_limit {
            cmd.env("OMP_THREAD_LIMIT", n.to_string());
        }
        cmd
    }
}

impl OcrEngine for Tesseract {
    fn name(&self) -> &'static str {
        "tesseract"
    }

    fn recognize(&self, image: &Path) -> Result<OcrText, OcrError> {
        // Judged by the bytes before Tesseract runs: a text file, a PDF or a FIFO gets a clear
        // refusal instead of Tesseract's own error (or a hang).
        crate::picture::check_image_file(image)?;
        // The prepared picture lives in a temporary folder until Tesseract has read it.
        let prepared = match self.prepare {
            Some(prepare) => Some(prepare_image(image, prepare)?),
            None => None,
        };
        let target = prepared.as_ref().map_or(image, |p| p.path.as_path());
        let output = match self.run(target) {
            Ok(Some(output)) => output,
            Ok(None) => {
                return Err(OcrError::TesseractTimedOut {
                    path: image.to_path_buf(),
                    timeout: self.timeout.unwrap_or_default(),
                });
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => {
                return Err(OcrError::TesseractNotFound {
                    program: self.program.clone(),
                });
            }
            Err(source) => {
                return Err(OcrError::Io {
                    path: self.program.clone(),
                    source,
                });
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            if stderr.contains("Failed loading language")
                || stderr.contains("Error opening data file")
            {
                return Err(OcrError::LanguageDataMissing {
                    language: self.language.clone(),
                });
            }
            return Err(OcrError::TesseractFailed {
                path: image.to_path_buf(),
                status: output.status.to_string(),
                stderr: last_lines(&stderr, 5),
            });
        }
        let mut text = parse_tsv(&String::from_utf8_lossy(&output.stdout));
        if let Some(p) = &prepared
            && p.scale != 1.0
        {
            for line in &mut text.lines {
                line.bbox = line.bbox.map(|b| BoundingBox {
                    left: (b.left as f32 / p.scale) as u32,
                    top: (b.top as f32 / p.scale) as u32,
                    width: ((b.width as f32 / p.scale).ceil() as u32).max(1),
                    height: ((b.height as f32 / p.scale).ceil() as u32).max(1),
                });
            }
        }
        Ok(text)
    }
}

/// A prepared picture in a temporary folder (removed when dropped) and the scale applied.
struct Prepared {
    _dir: tempfile::TempDir,
    path: PathBuf,
    scale: f32,
}

fn prepare_image(image: &Path, prepare: Prepare) -> Result<Prepared, OcrError> {
    let gray = crate::picture::load(image)?.into_luma8();
    let (w, h) = gray.dimensions();
    let scale = if w < prepare.min_width {
        (prepare.min_width as f32 / w as f32).min(3.0)
    } else {
        1.0
    };
    let mut gray = if scale > 1.0 {
        let (nw, nh) = (
            (w as f32 * scale).round() as u32,
            (h as f32 * scale).round() as u32,
        );
        image::imageops::resize(&gray, nw, nh, image::imageops::FilterType::CatmullRom)
    } else {
        gray
    };
    if prepare.binarize {
        let threshold = otsu(&gray);
        for p in gray.pixels_mut() {
            p.0[0] = if p.0[0] > threshold { 255 } else { 0 };
        }
    }
    let io = |source: std::io::Error| OcrError::Io {
        path: image.to_path_buf(),
        source,
    };
    let dir = tempfile::Builder::new()
        .prefix("fw-tesseract-")
        .tempdir()
        .map_err(io)?;
    let path = dir.path().join("prepared.png");
    gray.save(&path).map_err(|e| OcrError::Io {
        path: path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(Prepared {
        _dir: dir,
        path,
        scale,
    })
}

/// Otsu's threshold: the grey level that best separates ink from paper (maximal
/// between-class variance of the histogram).
fn otsu(gray: &image::GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in gray.pixels() {
        hist[p.0[0] as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut weight_b, mut sum_b) = (0u64, 0f64);
    let (mut best, mut best_var) = (127u8, -1f64);
    for (t, &count) in hist.iter().enumerate() {
        weight_b += count;
        if weight_b == 0 {
            continue;
        }
        let weight_f = total - weight_b;
        if weight_f == 0 {
            break;
        }
        sum_b += t as f64 * count as f64;
        let mean_b = sum_b / weight_b as f64;
        let mean_f = (sum_all - sum_b) / weight_f as f64;
        let var = weight_b as f64 * weight_f as f64 * (mean_b - mean_f).powi(2);
        if var > best_var {
            best_var = var;
            best = t as u8;
        }
    }
    best
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Reads `tesseract ... tsv` output: word rows (level 5) grouped into lines by
/// (page, block, paragraph, line), each line's box the union of its words' boxes.
pub fn parse_tsv(tsv: &str) -> OcrText {
    let mut out = OcrText::default();
    let mut current: Option<([u32; 4], OcrLine)> = None;
    for row in tsv.lines().skip_while(|l| l.starts_with("level")) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let word = cols[11..].join("\t");
        let word = word.trim();
        if word.is_empty() {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<u32>().unwrap_or(0);
        let key = [num(1), num(2), num(3), num(4)];
        let bbox = BoundingBox {
            left: num(6),
            top: num(7),
            width: num(8),
            height: num(9),
        };
        match &mut current {
            Some((k, line)) if *k == key => {
                line.text.push(' ');
                line.text.push_str(word);
                line.bbox = line.bbox.map(|b| b.union(bbox));
            }
            _ => {
                if let Some((_, line)) = current.take() {
                    out.push_line(line);
                }
                current = Some((
                    key,
                    OcrLine {
                        text: word.to_string(),
                        bbox: Some(bbox),
                        confidence: None,
                    },
                ));
            }
        }
    }
    if let Some((_, line)) = current {
        out.push_line(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t800\t2000\t-1\t\n\
4\t1\t1\t1\t1\t0\t10\t20\t300\t30\t-1\t\n\
5\t1\t1\t1\t1\t1\t10\t20\t100\t30\t95.1\tTOTAL\n\
5\t1\t1\t1\t1\t2\t200\t22\t110\t28\t91.0\t9.00\n\
5\t1\t1\t1\t2\t1\t10\t60\t50\t25\t90.0\tCASH\n\
5\t1\t1\t1\t2\t2\t70\t60\t50\t25\t-1\t \n\
5\t1\t2\t1\t1\t1\t15\t100\t60\t20\t88.0\tTHANK\n";

    #[test]
    fn tsv_words_group_into_lines_with_union_boxes() {
        let text = parse_tsv(TSV);
        assert_eq!(text.text, "TOTAL 9.00\nCASH\nTHANK\n");
        assert_eq!(text.lines.len(), 3);
        assert_eq!(
            text.lines[0].bbox,
            Some(BoundingBox {
                left: 10,
                top: 20,
                width: 300,
                height: 30
            })
        );
        assert_eq!(text.lines[2].text, "THANK");
    }

    #[test]
    fn otsu_splits_ink_from_paper() {
        let mut img = image::GrayImage::from_pixel(10, 10, image::Luma([220]));
        for x in 0..10 {
            img.put_pixel(x, 5, image::Luma([30]));
        }
        let t = otsu(&img);
        assert!((30..220).contains(&t), "{t}");
    }

    #[test]
    fn empty_tsv_gives_empty_text() {
        let text = parse_tsv("level\tpage_num\n");
        assert!(text.text.is_empty());
        assert!(text.lines.is_empty());
    }

    #[test]
    fn command_sets_psm_language_tsv_and_thread_limit() {
        let t = Tesseract::new().psm(6).language("deu");
        let cmd = t.command(Path::new("a.jpg"));
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["a.jpg", "-", "--psm", "6", "-l", "deu", "tsv"]);
        let env: Vec<_> = cmd.get_envs().collect();
        assert_eq!(
            env,
            [(
                std::ffi::OsStr::new("OMP_THREAD_LIMIT"),
                Some(std::ffi::OsStr::new("1"))
            )]
        );
        let unlimited = Tesseract::new().omp_thread_limit(None);
        assert_eq!(unlimited.command(Path::new("a.jpg")).get_envs().count(), 0);
    }
}
