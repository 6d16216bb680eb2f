//! The offline engine: PP-OCRv4 (detection, angle classification, recognition) run in pure Rust
//! by the `rten` runtime; no ONNX Runtime, no Python at run time.
//!
//! The pipeline follows RapidOCR 1.4.4 (`rapidocr_onnxruntime`, whose wheel ships the models and
//! whose `config.yaml` gives the settings in [`PpocrOptions::default`]):
//!
//! 1. decode ([`crate::picture`]), EXIF orientation applied; longer side above 2000 px shrunk;
//!    very flat images (a single line) letterboxed with black bands top and bottom;
//! 2. detection (DBNet): the shorter side scaled to 736 (sizes rounded to multiples of 32), BGR,
//!    `(x / 255 - 0.5) / 0.5`; the probability map thresholded at 0.3, dilated 2 x 2; contours
//!    (`rten-imageproc`), min-area rectangles (our own, `geometry.rs`: rten-imageproc's lost
//!    whole lines), mean probability inside each box >= 0.5, the box grown by
//!    `area * 1.6 / perimeter` on every side ("unclip"), scaled back; one image is detected at a
//!    time per engine (detection's memory grows with the image) and the freed memory handed
//!    back to the system after each;
//! 3. each box cut out straightened (bilinear, border replicated; boxes 1.5x taller than wide are
//!    turned a quarter), sampled straight at the network's 48-pixel height;
//! 4. the angle classifier (48 x 192, batches of 6) turns a line half round when it says "180"
//!    with more than 0.9; it reads the widest lines first, and when none of them is upside down
//!    the page is taken as upright and the rest left alone (RapidOCR classifies every line,
//!    which turned short upright lines such as "GST 6%" into garbage: merchants 92.0 -> 93.2 %
//!    on the 88 dev scans, totals and dates unchanged, one classifier batch a page);
//! 5. recognition of each line on its own (RapidOCR: batches of 6 sorted by width, each padded
//!    to its widest line; one at a time, padded to a multiple of 32 px and at least 96 px where
//!    RapidOCR pads to 320, took 12 to 20 % less CPU here for the same figures), lines run in
//!    parallel on the engine's pool; CTC greedy decoding with the model's own character list
//!    (its `character` metadata), lines under 0.5 mean confidence dropped;
//! 6. rows: boxes sorted top to bottom, a box joins the row whose vertical span overlaps it by
//!    more than half the smaller height, rows read left to right joined by single spaces.
//!
//! Why rten: it is on crates.io, pure Rust, and loads the PP-OCRv4 ONNX files as they are
//! (feature `onnx_format`); measured when the engine was planned (issue 11), one core: detection
//! at 960 x 736 in 0.29 s, a 48 x 320 line in 31 ms. `ort` would download ONNX Runtime, which
//! the project rules out; no other runtime was measured. Inference runs on the engine's own
//! thread pool ([`Ppocr::threads`]), so a caller running N images at once uses N cores at most.
//! Against ONNX Runtime, measured by `cargo xtask bench scan` (RapidOCR 1.4.4, the same models,
//! one thread each, the same 8 scans): 1.16x its CPU time (2026-12-02). Most of the gap is
//! rten 0.27's depthwise convolution, a scalar kernel with strided loads (about 40 % of the time
//! in a `perf` profile); rten's operator registry takes no kernels from outside the crate.
//!
//! One departure from RapidOCR, measured on the 8 SROIE dev scans: spaces are put where the
//! recogniser's characters lie far apart ([`PpocrOptions::word_gaps`]); 8/8 totals and 6/8 dates
//! against 7/8 and 4/8 without.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbImage;
use rayon::prelude::*;
use rten::{Model, ModelOptions, RunOptions, ThreadPool};
use rten_imageproc::{PointF, RetrievalMode, RotatedRect, find_contours};
use rten_tensor::prelude::*;
use rten_tensor::{NdTensor, NdTensorView};

use crate::geometry::min_area_rect;
use crate::{BoundingBox, OcrEngine, OcrError, OcrLine, OcrText, models, picture};

/// The recogniser's input height.
const REC_HEIGHT: usize = 48;
/// The classifier's input (3 x 48 x 192).
const CLS_WIDTH: usize = 192;
/// Lines per classifier batch (RapidOCR's `cls_batch_num`), and how many of the widest lines
/// decide whether a page is upright.
const CLS_BATCH: usize = 6;

/// Settings of the pipeline; the defaults are RapidOCR 1.4.4's `config.yaml`.
#[derive(Clone, Debug, PartialEq)]
pub struct PpocrOptions {
    /// Detection input: the shorter side is scaled up to this (RapidOCR `limit_side_len`, type
    /// `min`); a shorter side already longer is kept.
    pub det_limit_side: u32,
    /// Images whose longer side exceeds this are shrunk first (RapidOCR `max_side_len`).
    pub max_side: u32,
    /// Detection input: the longer side is scaled down to at most this (0: no limit).
    pub det_max_side: u32,
    /// Probability above which a detection-map pixel is text.
    pub det_thresh: f32,
    /// Mean probability inside a box below which the box is dropped.
    pub box_thresh: f32,
    /// How far boxes are grown: `area * ratio / perimeter` on every side.
    pub unclip_ratio: f32,
    /// At most this many contours are considered.
    pub max_candidates: usize,
    /// Run the angle classifier (turns upside-down lines).
    pub use_cls: bool,
    /// Classify every line. Unset, the 6 widest lines are classified first and when
    /// none of them is upside down the page is taken as upright, the others unclassified.
    pub cls_every_line: bool,
    /// The classifier's confidence needed to turn a line.
    pub cls_thresh: f32,
    /// Lines whose mean character confidence is below this are dropped.
    pub text_score: f32,
    /// Lines per recognition batch. Lines one at a time (each padded only to a multiple of
    /// [`PpocrOptions::rec_width_step`]) took 12 to 20 % less CPU than RapidOCR's batches of 6
    /// (each padded to its widest line) on the 8 SROIE dev scans, reading the 88 as well.
    pub rec_batch: usize,
    /// Narrowest recognition input: shorter lines are padded to it. RapidOCR pads to 320; 96
    /// read as many totals and dates and one merchant more on the 88 SROIE dev scans, for 27 %
    /// less CPU (`cargo xtask eval --scans`, 2026-12-02).
    pub rec_min_width: u32,
    /// Recognition inputs are padded on the right to a multiple of this width (1: to the
    /// batch's widest line only). Some room to the right of the text helps the recogniser: lines
    /// one at a time with none lost a date on the 88 dev scans, with 32 px none.
    pub rec_width_step: u32,
    /// Put spaces where the recogniser left a wide gap between characters but no space (see
    /// the measurements in the README).
    pub word_gaps: bool,
}

impl Default for PpocrOptions {
    fn default() -> Self {
        PpocrOptions {
            det_limit_side: 736,
            max_side: 2000,
            det_max_side: 0,
            det_thresh: 0.3,
            box_thresh: 0.5,
            unclip_ratio: 1.6,
            max_candidates: 1000,
            use_cls: true,
            cls_every_line: false,
            cls_thresh: 0.9,
            text_score: 0.5,
            rec_batch: 1,
            rec_min_width: 96,
            rec_width_step: 32,
            word_gaps: true,
        }
    }
}

/// The PP-OCRv4 engine. Load once ([`Ppocr::from_dir`] or [`Ppocr::open`]), then call
/// [`OcrEngine::recognize`] from any number of threads.
pub struct Ppocr {
    det: Model,
    rec: Model,
    cls: Model,
    /// Index 0 is the CTC blank; then the model's characters; then a space.
    charset: Vec<String>,
    options: PpocrOptions,
    pool: Arc<ThreadPool>,
    /// Held while an image is detected: detection's working memory grows with the image (one
    /// 884 x 1677 receipt alone peaked the process at 248 MiB), recognition's stays small, so callers running several
    /// images at once detect one at a time and peak memory stays near one detection's.
    detecting: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Ppocr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ppocr")
            .field("characters", &self.charset.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Ppocr {
    /// Loads the models from `dir` (given, else `FILEWIRE_MODELS`, else the user's cache). When
    /// no folder was given and models are missing from the cache, they are installed first
    /// ([`models::install`], a line on stderr says so); a folder that was given is never written.
    pub fn open(dir: Option<&Path>) -> Result<Ppocr, OcrError> {
        let explicit = dir.map(Path::to_path_buf).or_else(|| {
            std::env::var_os(models::MODELS_VARIABLE)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        });
        match explicit {
            Some(dir) => Ppocr::from_dir(&dir),
            None => {
                let dir = models::cache_dir().ok_or_else(|| OcrError::ModelInstall {
                    dir: PathBuf::from("~/.cache/filewire/models"),
                    reason: format!(
                        "neither XDG_CACHE_HOME nor HOME is set; {}",
                        models::INSTALL_HINT
                    ),
                })?;
                models::ensure(&dir, true)?;
                Ppocr::load_verified(&dir)
            }
        }
    }

    /// Loads the models from `dir` after checking every file's SHA-256.
    pub fn from_dir(dir: &Path) -> Result<Ppocr, OcrError> {
        models::verify(dir)?;
        Ppocr::load_verified(dir)
    }

    fn load_verified(dir: &Path) -> Result<Ppocr, OcrError> {
        let load = |file: models::ModelFile| {
            let path = models::path_in(dir, file);
            // Prepacked weights: a copy in the matrix kernels' layout (16 MB of models, so
            // little memory) for faster inference.
            ModelOptions::with_all_ops()
                .prepack_weights(true)
                .load_file(&path)
                .map_err(|e| OcrError::ModelLoad {
                    path,
                    reason: e.to_string(),
                })
        };
        let det = load(models::DETECTION)?;
        let rec = load(models::RECOGNITION)?;
        let cls = load(models::CLASSIFIER)?;
        let characters = rec
            .metadata()
            .get("character")
            .ok_or_else(|| OcrError::ModelLoad {
                path: models::path_in(dir, models::RECOGNITION),
                reason: "the model has no `character` metadata".to_string(),
            })?;
        let mut charset = vec![String::new()];
        charset.extend(python_splitlines(characters).map(str::to_string));
        charset.push(" ".to_string());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Ppocr {
            det,
            rec,
            cls,
            charset,
            options: PpocrOptions::default(),
            pool: Arc::new(ThreadPool::with_num_threads(threads)),
            detecting: std::sync::Mutex::new(()),
        })
    }

    /// Replaces the settings.
    pub fn options(mut self, options: PpocrOptions) -> Ppocr {
        self.options = options;
        self
    }

    /// The settings in use.
    pub fn current_options(&self) -> &PpocrOptions {
        &self.options
    }

    /// How many threads inference may use in all, however many callers run at once (default:
    /// the number of CPUs). A caller running N images at once sets N here, so that N images
    /// never use more than N cores.
    pub fn threads(mut self, threads: usize) -> Ppocr {
        self.pool = Arc::new(ThreadPool::with_num_threads(threads.max(1)));
        self
    }

    /// How many characters the recogniser knows (6623 for PP-OCRv4), without blank and space.
    pub fn character_count(&self) -> usize {
        self.charset.len() - 2
    }

    /// Recognises the text in an RGB image; `path` only names it in errors.
    pub fn recognize_image(&self, img: &RgbImage, path: &Path) -> Result<OcrText, OcrError> {
        let fail = |reason: String| OcrError::Inference {
            path: path.to_path_buf(),
            reason,
        };
        let (work, scale) = picture::fit_within(img.clone(), self.options.max_side);
        let (work, pad_top) = letterbox(work);
        let t0 = std::time::Instant::now();
        let quads = {
            // Taken outside the inference pool: a pool thread waiting on it could be the one
            // that holds it, further up its stack (rayon runs queued jobs while it waits).
            // A caller thread that already holds it (a rayon worker of another pool that
            // picked up a second image while waiting) goes ahead without it.
            let _one_at_a_time = DetectionTurn::take(&self.detecting);
            let quads = self.pool.run(|| self.detect(&work));
            release_freed_memory();
            quads.map_err(fail)?
        };
        let t1 = std::time::Instant::now();
        self.pool.run(|| {
            let mut crops: Vec<Crop> = quads.iter().map(Crop::from_quad).collect();
            if self.options.use_cls && !crops.is_empty() {
                self.classify(&work, &mut crops).map_err(fail)?;
            }
            let t2 = std::time::Instant::now();
            let texts = self.recognize_crops(&work, &crops).map_err(fail)?;
            if std::env::var_os("FILEWIRE_PPOCR_TIMING").is_some() {
                eprintln!(
                    "ppocr {}: detection {:.2} s, angle {:.2} s, recognition {:.2} s, {} boxes",
                    path.display(),
                    (t1 - t0).as_secs_f64(),
                    (t2 - t1).as_secs_f64(),
                    t2.elapsed().as_secs_f64(),
                    crops.len()
                );
            }
            let mut boxes = Vec::new();
            let trace = std::env::var_os("FILEWIRE_PPOCR_TRACE").is_some();
            for (quad, (text, confidence)) in quads.iter().zip(texts) {
                if trace {
                    eprintln!("  box {quad:?} {confidence:.2} {text:?}");
                }
                if confidence < self.options.text_score || text.trim().is_empty() {
                    continue;
                }
                let bbox = quad_bbox(quad, pad_top, scale, img.width(), img.height());
                boxes.push(OcrLine {
                    text: text.trim().to_string(),
                    bbox: Some(bbox),
                    confidence: Some(confidence),
                });
            }
            Ok(rows(boxes))
        })
    }

    fn run_opts(&self) -> Option<RunOptions> {
        Some(RunOptions::default().with_thread_pool(Some(self.pool.clone())))
    }

    /// Text boxes in `img` as quadrilaterals (top-left, top-right, bottom-right, bottom-left).
    fn detect(&self, img: &RgbImage) -> Result<Vec<[[f32; 2]; 4]>, String> {
        let o = &self.options;
        let (w, h) = (img.width() as f32, img.height() as f32);
        let shorter = w.min(h);
        let mut ratio = if shorter < o.det_limit_side as f32 {
            o.det_limit_side as f32 / shorter
        } else {
            1.0
        };
        // Unlike RapidOCR, the longer side is not scaled past `max_side`: a single line 56 px
        // high would otherwise be detected at 5700 x 736 (slow, and it split the line).
        if ratio > 1.0 && w.max(h) * ratio > o.max_side as f32 {
            ratio = (o.max_side as f32 / w.max(h)).max(1.0);
        }
        if o.det_max_side > 0 && w.max(h) * ratio > o.det_max_side as f32 {
            ratio = o.det_max_side as f32 / w.max(h);
        }
        let round32 = |v: f32| (((v as u32) as f32 / 32.0).round() as u32 * 32).max(32);
        let (rw, rh) = (round32(w * ratio), round32(h * ratio));
        let resized = image::imageops::resize(img, rw, rh, image::imageops::FilterType::Triangle);
        let (rw, rh) = (rw as usize, rh as usize);
        let mut input = vec![0f32; 3 * rh * rw];
        let plane = rh * rw;
        for (i, px) in resized.pixels().enumerate() {
            // BGR order, as RapidOCR feeds OpenCV images.
            input[i] = px[2] as f32 / 127.5 - 1.0;
            input[plane + i] = px[1] as f32 / 127.5 - 1.0;
            input[2 * plane + i] = px[0] as f32 / 127.5 - 1.0;
        }
        let input = NdTensor::from_data([1, 3, rh, rw], input);
        let output = self
            .det
            .run_one(input.view().into(), self.run_opts())
            .map_err(|e| format!("detection: {e}"))?;
        let pred: NdTensor<f32, 4> = output
            .try_into()
            .map_err(|e| format!("detection output: {e:?}"))?;
        let pred = pred.to_contiguous();
        let pred = pred.data().to_vec();
        if pred.len() != plane {
            return Err(format!(
                "detection output has {} values, expected {plane}",
                pred.len()
            ));
        }
        // Threshold, then dilate with a 2 x 2 kernel (OpenCV's anchor: the pixel and the ones
        // above and to the left).
        let mut mask = NdTensor::<bool, 2>::zeros([rh, rw]);
        for y in 0..rh {
            for x in 0..rw {
                let on = |yy: usize, xx: usize| pred[yy * rw + xx] > o.det_thresh;
                mask[[y, x]] = on(y, x)
                    || (x > 0 && on(y, x - 1))
                    || (y > 0 && on(y - 1, x))
                    || (x > 0 && y > 0 && on(y - 1, x - 1));
            }
        }
        let pred_view = NdTensorView::from_data([rh, rw], pred.as_slice());
        let contours = find_contours(mask.view(), RetrievalMode::List);
        let mut quads = Vec::new();
        for contour in contours.iter().take(o.max_candidates) {
            let points: Vec<PointF> = contour
                .iter()
                .map(|p| PointF::from_yx(p.y as f32, p.x as f32))
                .collect();
            let Some(rect) = min_area_rect(&points) else {
                continue;
            };
            if rect.width().min(rect.height()) < 3.0 {
                continue;
            }
            if box_score(pred_view, &rect) < o.box_thresh {
                continue;
            }
            let perimeter = 2.0 * (rect.width() + rect.height());
            let distance = rect.area() * o.unclip_ratio / perimeter;
            let grown = rect.expanded(2.0 * distance, 2.0 * distance);
            if grown.width().min(grown.height()) < 5.0 {
                continue;
            }
            let corners = grown.corners().map(|c| {
                [
                    (c.x / rw as f32 * w).round().clamp(0.0, w),
                    (c.y / rh as f32 * h).round().clamp(0.0, h),
                ]
            });
            let mut quad = order_clockwise(corners);
            for p in &mut quad {
                p[0] = p[0].clamp(0.0, w - 1.0).trunc();
                p[1] = p[1].clamp(0.0, h - 1.0).trunc();
            }
            let width = dist(quad[0], quad[1]) as u32;
            let height = dist(quad[0], quad[3]) as u32;
            if width <= 3 || height <= 3 {
                continue;
            }
            quads.push(quad);
        }
        Ok(quads)
    }

    /// Turns crops the classifier reads as upside down.
    ///
    /// The widest lines are classified first (one batch): when none of them is upside down,
    /// the page is upright and the other lines are not classified (with `cls_every_line`
    /// unset). Lines of one photo share its orientation; the widest read most surely.
    fn classify(&self, img: &RgbImage, crops: &mut [Crop]) -> Result<(), String> {
        let mut order = by_aspect(crops);
        let widest = order.split_off(order.len().saturating_sub(CLS_BATCH));
        let mut flips = self.upside_down(img, crops, &widest)?;
        if self.options.cls_every_line || flips.iter().any(|&(_, flip)| flip) {
            flips.extend(self.upside_down(img, crops, &order)?);
        }
        for (i, flip) in flips {
            if flip {
                crops[i] = crops[i].turned_half();
            }
        }
        Ok(())
    }

    /// The classifier's verdict (upside down or not) on the crops `which`.
    fn upside_down(
        &self,
        img: &RgbImage,
        crops: &[Crop],
        which: &[usize],
    ) -> Result<Vec<(usize, bool)>, String> {
        let decisions: Vec<Result<Vec<(usize, bool)>, String>> = which
            .par_chunks(CLS_BATCH)
            .map(|chunk| {
                let n = chunk.len();
                let mut input = vec![0f32; n * 3 * REC_HEIGHT * CLS_WIDTH];
                for (k, &i) in chunk.iter().enumerate() {
                    let crop = &crops[i];
                    let want = (REC_HEIGHT as f32 * crop.w / crop.h).ceil() as usize;
                    let width = want.clamp(1, CLS_WIDTH);
                    let stride = 3 * REC_HEIGHT * CLS_WIDTH;
                    crop.sample(
                        img,
                        &mut input[k * stride..(k + 1) * stride],
                        CLS_WIDTH,
                        width,
                    );
                }
                let input = NdTensor::from_data([n, 3, REC_HEIGHT, CLS_WIDTH], input);
                let out = self
                    .cls
                    .run_one(input.view().into(), self.run_opts())
                    .map_err(|e| format!("angle classifier: {e}"))?;
                let probs: NdTensor<f32, 2> = out
                    .try_into()
                    .map_err(|e| format!("classifier output: {e:?}"))?;
                Ok(chunk
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        let (p0, p180) = (probs[[k, 0]], probs[[k, 1]]);
                        (i, p180 > p0 && p180 > self.options.cls_thresh)
                    })
                    .collect())
            })
            .collect();
        let mut out = Vec::with_capacity(which.len());
        for batch in decisions {
            out.extend(batch?);
        }
        Ok(out)
    }

    /// Each crop's text and mean character confidence, in the crops' order.
    fn recognize_crops(
        &self,
        img: &RgbImage,
        crops: &[Crop],
    ) -> Result<Vec<(String, f32)>, String> {
        let order = by_aspect(crops);
        let batch = self.options.rec_batch.max(1);
        let results: Vec<Result<Vec<Recognised>, String>> = order
            .par_chunks(batch)
            .map(|chunk| {
                let n = chunk.len();
                let max_ratio = chunk.iter().map(|&i| crops[i].w / crops[i].h).fold(
                    self.options.rec_min_width.max(8) as f32 / REC_HEIGHT as f32,
                    f32::max,
                );
                let step = self.options.rec_width_step.max(1) as usize;
                let width = ((REC_HEIGHT as f32 * max_ratio) as usize).div_ceil(step) * step;
                let stride = 3 * REC_HEIGHT * width;
                let mut input = vec![0f32; n * stride];
                for (k, &i) in chunk.iter().enumerate() {
                    let crop = &crops[i];
                    let want = (REC_HEIGHT as f32 * crop.w / crop.h).ceil() as usize;
                    crop.sample(
                        img,
                        &mut input[k * stride..(k + 1) * stride],
                        width,
                        want.clamp(1, width),
                    );
                }
                let input = NdTensor::from_data([n, 3, REC_HEIGHT, width], input);
                let out = self
                    .rec
                    .run_one(input.view().into(), self.run_opts())
                    .map_err(|e| format!("recognition: {e}"))?;
                let probs: NdTensor<f32, 3> = out
                    .try_into()
                    .map_err(|e| format!("recognition output: {e:?}"))?;
                Ok(chunk
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| {
                        let (text, conf) =
                            ctc_greedy(probs.slice(k), &self.charset, self.options.word_gaps);
                        (i, text, conf)
                    })
                    .collect())
            })
            .collect();
        let mut out = vec![(String::new(), 0.0); crops.len()];
        for batch in results {
            for (i, text, conf) in batch? {
                out[i] = (text, conf);
            }
        }
        Ok(out)
    }
}

impl OcrEngine for Ppocr {
    fn name(&self) -> &'static str {
        "ppocr"
    }

    fn recognize(&self, image: &Path) -> Result<OcrText, OcrError> {
        let img = picture::load_rgb(image)?;
        self.recognize_image(&img, image)
    }
}

/// Hands memory that was freed back to the system. Detection frees a few hundred MiB of
/// working tensors at once, which glibc's allocator would otherwise keep in the process: on
/// the 16 largest dev scans with two workers, peak RSS 443 MiB against 464 MiB without.
#[allow(unsafe_code)] // one libc call, no pointers
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the kernel; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The right to run detection, held by one thread at a time; see [`Ppocr::recognize_image`].
struct DetectionTurn<'a> {
    guard: Option<std::sync::MutexGuard<'a, ()>>,
}

thread_local! {
    static HOLDS_DETECTION_TURN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl<'a> DetectionTurn<'a> {
    fn take(lock: &'a std::sync::Mutex<()>) -> DetectionTurn<'a> {
        if HOLDS_DETECTION_TURN.get() {
            return DetectionTurn { guard: None };
        }
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        HOLDS_DETECTION_TURN.set(true);
        DetectionTurn { guard: Some(guard) }
    }
}

impl Drop for DetectionTurn<'_> {
    fn drop(&mut self) {
        if self.guard.is_some() {
            HOLDS_DETECTION_TURN.set(false);
        }
    }
}

/// A crop's index, its text and its mean character confidence.
type Recognised = (usize, String, f32);

/// Python's `str.splitlines()`, which RapidOCR uses on the `character` metadata.
fn python_splitlines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let is_break = |c: char| {
            matches!(
                c,
                '\n' | '\r'
                    | '\u{0b}'
                    | '\u{0c}'
                    | '\u{1c}'
                    | '\u{1d}'
                    | '\u{1e}'
                    | '\u{85}'
                    | '\u{2028}'
                    | '\u{2029}'
            )
        };
        match rest.char_indices().find(|&(_, c)| is_break(c)) {
            Some((i, c)) => {
                let line = &rest[..i];
                let mut next = i + c.len_utf8();
                if c == '\r' && rest[next..].starts_with('\n') {
                    next += 1;
                }
                rest = &rest[next..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// CTC greedy decoding: best class per step, repeats merged, blanks (0) dropped; the confidence
/// is the mean probability of the kept steps (0 when none).
///
/// With `word_gaps`, a space is put between two characters whose steps lie much further apart
/// than the line's usual pitch (more than 4 steps, RapidOCR's word-box rule, and more than 1.6
/// times the median distance): PP-OCRv4 often leaves out spaces between Latin words and
/// numbers ("25/12/20188:13:39PM"), which the pixels still show.
fn ctc_greedy(probs: NdTensorView<f32, 2>, charset: &[String], word_gaps: bool) -> (String, f32) {
    let mut chars: Vec<(usize, &str)> = Vec::new();
    let (mut sum, mut kept) = (0f32, 0usize);
    let mut previous = usize::MAX;
    for t in 0..probs.size(0) {
        let row = probs.slice(t);
        let (mut best, mut best_p) = (0usize, f32::MIN);
        for (c, &p) in row.iter().enumerate() {
            if p > best_p {
                best = c;
                best_p = p;
            }
        }
        if best != 0 && best != previous {
            if let Some(ch) = charset.get(best) {
                chars.push((t, ch.as_str()));
            }
            sum += best_p;
            kept += 1;
        }
        previous = best;
    }
    let conf = if kept == 0 { 0.0 } else { sum / kept as f32 };
    let mut gaps: Vec<usize> = chars.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let threshold = if word_gaps && gaps.len() >= 2 {
        gaps.sort_unstable();
        let median = gaps[gaps.len() / 2] as f32;
        (1.6 * median).max(4.0)
    } else {
        f32::INFINITY
    };
    let mut text = String::new();
    for (k, &(t, ch)) in chars.iter().enumerate() {
        if k > 0 {
            let (pt, prev) = chars[k - 1];
            if (t - pt) as f32 > threshold && prev != " " && ch != " " {
                text.push(' ');
            }
        }
        text.push_str(ch);
    }
    (text, conf)
}

/// Mean of the probability map inside `rect` (RapidOCR's "fast" box score).
fn box_score(pred: NdTensorView<f32, 2>, rect: &RotatedRect) -> f32 {
    let (h, w) = (pred.size(0) as i32, pred.size(1) as i32);
    let corners = rect.corners();
    let xs = corners.map(|c| c.x);
    let ys = corners.map(|c| c.y);
    let fold = |v: [f32; 4], f: fn(f32, f32) -> f32, init: f32| v.into_iter().fold(init, f);
    let xmin = (fold(xs, f32::min, f32::MAX).floor() as i32).clamp(0, w - 1);
    let xmax = (fold(xs, f32::max, f32::MIN).ceil() as i32).clamp(0, w - 1);
    let ymin = (fold(ys, f32::min, f32::MAX).floor() as i32).clamp(0, h - 1);
    let ymax = (fold(ys, f32::max, f32::MIN).ceil() as i32).clamp(0, h - 1);
    // Slightly grown so that pixels on the rectangle's edge count, as with OpenCV's fillPoly.
    let inside_rect = rect.expanded(1.0, 1.0);
    let (mut sum, mut count) = (0f32, 0usize);
    for y in ymin..=ymax {
        for x in xmin..=xmax {
            if inside_rect.contains(PointF::from_yx(y as f32, x as f32)) {
                sum += pred[[y as usize, x as usize]];
                count += 1;
            }
        }
    }
    if count == 0 { 0.0 } else { sum / count as f32 }
}

/// Orders four corners as RapidOCR does: the two leftmost are top-left and bottom-left (by y),
/// the two rightmost top-right and bottom-right.
fn order_clockwise(mut pts: [[f32; 2]; 4]) -> [[f32; 2]; 4] {
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (mut left, mut right) = ([pts[0], pts[1]], [pts[2], pts[3]]);
    left.sort_by(|a, b| a[1].total_cmp(&b[1]));
    right.sort_by(|a, b| a[1].total_cmp(&b[1]));
    [left[0], right[0], right[1], left[1]]
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Pads a very flat image (a single line: height <= 30 or wider than 8 : 1) with black bands top
/// and bottom, as RapidOCR does, so the detector sees room around the text; returns the band's
/// height.
fn letterbox(img: RgbImage) -> (RgbImage, u32) {
    let (w, h) = (img.width(), img.height());
    if h > 30 && w as f32 / h as f32 <= 8.0 {
        return (img, 0);
    }
    let new_h = ((w as f32 / 8.0) as u32).max(30) * 2;
    let pad = new_h.abs_diff(h) / 2;
    let mut out = RgbImage::new(w, h + 2 * pad);
    image::imageops::replace(&mut out, &img, 0, i64::from(pad));
    (out, pad)
}

/// The axis-aligned box of a quad in the original image's pixels.
fn quad_bbox(quad: &[[f32; 2]; 4], pad_top: u32, scale: f32, w: u32, h: u32) -> BoundingBox {
    let to_orig = |v: f32, pad: f32, max: u32| ((v - pad) / scale).clamp(0.0, max as f32);
    let xs = quad.map(|p| to_orig(p[0], 0.0, w));
    let ys = quad.map(|p| to_orig(p[1], pad_top as f32, h));
    let left = xs.iter().copied().fold(f32::MAX, f32::min).floor() as u32;
    let right = xs.iter().copied().fold(f32::MIN, f32::max).ceil() as u32;
    let top = ys.iter().copied().fold(f32::MAX, f32::min).floor() as u32;
    let bottom = ys.iter().copied().fold(f32::MIN, f32::max).ceil() as u32;
    BoundingBox {
        left,
        top,
        width: right.saturating_sub(left).max(1),
        height: bottom.saturating_sub(top).max(1),
    }
}

/// Indices of `crops` sorted by aspect ratio (width / height), as RapidOCR batches them.
fn by_aspect(crops: &[Crop]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..crops.len()).collect();
    order.sort_by(|&a, &b| (crops[a].w / crops[a].h).total_cmp(&(crops[b].w / crops[b].h)));
    order
}

/// A straightened text box: the source point of the crop's top-left pixel, the source step per
/// crop pixel along x and along y, and the crop's size in source pixels.
#[derive(Clone, Copy, Debug)]
struct Crop {
    origin: [f32; 2],
    ex: [f32; 2],
    ey: [f32; 2],
    w: f32,
    h: f32,
}

impl Crop {
    /// RapidOCR's `get_rotate_crop_image`: width and height the longer of the opposite edges,
    /// turned a quarter (counter-clockwise, `np.rot90`) when 1.5 times taller than wide.
    fn from_quad(q: &[[f32; 2]; 4]) -> Crop {
        let w = dist(q[0], q[1]).max(dist(q[2], q[3])).trunc().max(1.0);
        let h = dist(q[0], q[3]).max(dist(q[1], q[2])).trunc().max(1.0);
        let ex = [(q[1][0] - q[0][0]) / w, (q[1][1] - q[0][1]) / w];
        let ey = [(q[3][0] - q[0][0]) / h, (q[3][1] - q[0][1]) / h];
        let crop = Crop {
            origin: q[0],
            ex,
            ey,
            w,
            h,
        };
        if h / w >= 1.5 {
            // new[i][j] = old[j][W-1-i]
            Crop {
                origin: [q[0][0] + ex[0] * (w - 1.0), q[0][1] + ex[1] * (w - 1.0)],
                ex: ey,
                ey: [-ex[0], -ex[1]],
                w: h,
                h: w,
            }
        } else {
            crop
        }
    }

    /// The same crop turned half round.
    fn turned_half(&self) -> Crop {
        let o = self.origin;
        Crop {
            origin: [
                o[0] + self.ex[0] * (self.w - 1.0) + self.ey[0] * (self.h - 1.0),
                o[1] + self.ex[1] * (self.w - 1.0) + self.ey[1] * (self.h - 1.0),
            ],
            ex: [-self.ex[0], -self.ex[1]],
            ey: [-self.ey[0], -self.ey[1]],
            ..*self
        }
    }

    /// Samples the crop, resized to `REC_HEIGHT` x `width` (bilinear, border replicated), into
    /// `dst` laid out as 3 x `REC_HEIGHT` x `stride` (BGR, `(x / 255 - 0.5) / 0.5`); columns past
    /// `width` are left as they are (zero padding).
    fn sample(&self, img: &RgbImage, dst: &mut [f32], stride: usize, width: usize) {
        let (iw, ih) = (img.width() as i32, img.height() as i32);
        let raw = img.as_raw();
        let sx = self.w / width as f32;
        let sy = self.h / REC_HEIGHT as f32;
        let plane = REC_HEIGHT * stride;
        for i in 0..REC_HEIGHT {
            let cy = (i as f32 + 0.5) * sy - 0.5;
            for j in 0..width {
                let cx = (j as f32 + 0.5) * sx - 0.5;
                let x = self.origin[0] + self.ex[0] * cx + self.ey[0] * cy;
                let y = self.origin[1] + self.ex[1] * cx + self.ey[1] * cy;
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = (x - x0, y - y0);
                let (x0, y0) = (x0 as i32, y0 as i32);
                let at = |xx: i32, yy: i32| {
                    let xx = xx.clamp(0, iw - 1) as usize;
                    let yy = yy.clamp(0, ih - 1) as usize;
                    (yy * iw as usize + xx) * 3
                };
                let (a, b, c, d) = (
                    at(x0, y0),
                    at(x0 + 1, y0),
                    at(x0, y0 + 1),
                    at(x0 + 1, y0 + 1),
                );
                let idx = i * stride + j;
                for ch in 0..3 {
                    let v = (raw[a + ch] as f32 * (1.0 - fx) + raw[b + ch] as f32 * fx)
                        * (1.0 - fy)
                        + (raw[c + ch] as f32 * (1.0 - fx) + raw[d + ch] as f32 * fx) * fy;
                    // RGB source, BGR planes.
                    dst[(2 - ch) * plane + idx] = v / 127.5 - 1.0;
                }
            }
        }
    }
}

/// Groups boxes into rows: sorted by top edge, a box joins the open row whose vertical span
/// overlaps it by more than half the smaller of the two heights; rows read left to right and
/// joined by single spaces. `lines` keeps every box (rows in order, left to right within).
pub fn rows(mut boxes: Vec<OcrLine>) -> OcrText {
    let span = |l: &OcrLine| {
        let b = l.bbox.unwrap_or(BoundingBox {
            left: 0,
            top: 0,
            width: 0,
            height: 0,
        });
        (b.top as f32, (b.top + b.height) as f32, b.left)
    };
    boxes.sort_by(|a, b| span(a).0.total_cmp(&span(b).0));
    // Each row: its boxes, and the vertical span of its first box.
    let mut rows: Vec<(Vec<OcrLine>, f32, f32)> = Vec::new();
    for line in boxes {
        let (top, bottom, _) = span(&line);
        let fits = rows.iter_mut().rev().take(3).find(|(_, rt, rb)| {
            let overlap = bottom.min(*rb) - top.max(*rt);
            let smaller = (bottom - top).min(*rb - *rt);
            overlap > 0.5 * smaller
        });
        match fits {
            Some((row, _, _)) => row.push(line),
            None => rows.push((vec![line], top, bottom)),
        }
    }
    let mut out = OcrText::default();
    for (mut row, _, _) in rows {
        row.sort_by_key(|l| span(l).2);
        let text: Vec<&str> = row.iter().map(|l| l.text.as_str()).collect();
        out.text.push_str(&text.join(" "));
        out.text.push('\n');
        out.lines.extend(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, left: u32, top: u32, width: u32, height: u32) -> OcrLine {
        OcrLine {
            text: text.to_string(),
            bbox: Some(BoundingBox {
                left,
                top,
                width,
                height,
            }),
            confidence: Some(0.9),
        }
    }

    #[test]
    fn boxes_on_one_level_form_a_row_left_to_right() {
        let text = rows(vec![
            line("9.00", 300, 102, 60, 20),
            line("TOTAL", 10, 100, 80, 22),
            line("CASH", 10, 140, 60, 20),
            line("THANK YOU", 50, 20, 200, 24),
        ]);
        assert_eq!(text.text, "THANK YOU\nTOTAL 9.00\nCASH\n");
        assert_eq!(text.lines.len(), 4);
        assert_eq!(text.lines[1].text, "TOTAL");
    }

    #[test]
    fn boxes_overlapping_less_than_half_stay_apart() {
        let text = rows(vec![line("A", 0, 0, 10, 20), line("B", 50, 12, 10, 20)]);
        assert_eq!(text.text, "A\nB\n");
    }

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let charset: Vec<String> = ["", "A", "B", " "].iter().map(|s| s.to_string()).collect();
        // steps: A A blank A B B blank
        let steps = [1, 1, 0, 1, 2, 2, 0];
        let mut data = vec![0.0f32; steps.len() * 4];
        for (t, &c) in steps.iter().enumerate() {
            data[t * 4 + c] = 0.8;
        }
        let probs = NdTensor::from_data([steps.len(), 4], data);
        let (text, conf) = ctc_greedy(probs.view(), &charset, false);
        assert_eq!(text, "AAB");
        assert!((conf - 0.8).abs() < 1e-6);
    }

    #[test]
    fn wide_gaps_become_spaces() {
        let charset: Vec<String> = ["", "A", "B", " "].iter().map(|s| s.to_string()).collect();
        // A at 0, B at 3, A at 6, B at 15 (a gap of 9 steps against a pitch of 3).
        let mut steps = [0usize; 18];
        for (t, c) in [(0, 1), (3, 2), (6, 1), (15, 2)] {
            steps[t] = c;
        }
        let mut data = vec![0.0f32; steps.len() * 4];
        for (t, &c) in steps.iter().enumerate() {
            data[t * 4 + c] = 0.9;
        }
        let probs = NdTensor::from_data([steps.len(), 4], data);
        assert_eq!(ctc_greedy(probs.view(), &charset, true).0, "ABA B");
        assert_eq!(ctc_greedy(probs.view(), &charset, false).0, "ABAB");
    }

    #[test]
    fn splitlines_matches_python() {
        let parts: Vec<&str> = python_splitlines("a\nb\r\nc\u{2028}d\n").collect();
        assert_eq!(parts, ["a", "b", "c", "d"]);
    }

    #[test]
    fn corners_are_ordered_like_rapidocr() {
        let q = order_clockwise([[10.0, 5.0], [0.0, 0.0], [0.0, 5.0], [10.0, 0.0]]);
        assert_eq!(q, [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]]);
    }

    #[test]
    fn tall_crops_are_turned_a_quarter() {
        let crop = Crop::from_quad(&[[0.0, 0.0], [10.0, 0.0], [10.0, 40.0], [0.0, 40.0]]);
        assert_eq!((crop.w, crop.h), (40.0, 10.0));
        let flat = Crop::from_quad(&[[0.0, 0.0], [40.0, 0.0], [40.0, 10.0], [0.0, 10.0]]);
        assert_eq!((flat.w, flat.h), (40.0, 10.0));
        let turned = flat.turned_half();
        assert_eq!(turned.origin, [39.0, 9.0]);
    }
}
