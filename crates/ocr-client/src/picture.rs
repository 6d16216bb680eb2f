//! Image files to pixels for every engine: decode (JPEG, PNG, WebP, TIFF, BMP, GIF) with the
//! `image` crate, honour the EXIF orientation, refuse images too large to hold, and shrink:
//! [`fit_within`] for pixels, [`shrink_to_jpeg`] for an upload's byte limit (in memory; the file
//! is never touched).
//!
//! ```
//! use ocr_client::picture;
//!
//! let img = image::RgbImage::from_pixel(400, 100, image::Rgb([255, 255, 255]));
//! let (small, scale) = picture::fit_within(img, 200);
//! assert_eq!((small.width(), small.height(), scale), (200, 50, 0.5));
//! ```

use std::io::ErrorKind;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

use crate::OcrError;

/// The most pixels an image may have: 40 megapixels (a 12-megapixel phone photo has room four
/// times over). Larger images are refused before their pixels are decoded, so a hostile or
/// mistaken 10000 x 10000 file cannot exhaust memory; 40 MP as RGB is 120 MB.
pub const MAX_PIXELS: u64 = 40_000_000;

/// The most bytes the decoder may allocate for one image (pixels plus its working buffers).
const MAX_DECODE_ALLOC: u64 = 400 * 1024 * 1024;

/// Reads the image at `path` as RGB, turned upright by its EXIF orientation.
///
/// Errors: [`OcrError::ImageNotFound`], [`OcrError::Io`], [`OcrError::ImageDecode`] (not an
/// image, unsupported or corrupt) and [`OcrError::ImageTooLarge`] (over [`MAX_PIXELS`]).
pub fn load_rgb(path: &Path) -> Result<RgbImage, OcrError> {
    Ok(load(path)?.into_rgb8())
}

/// Reads the image at `path`, turned upright by its EXIF orientation; see [`load_rgb`].
pub fn load(path: &Path) -> Result<DynamicImage, OcrError> {
    let decode_error = |e: image::ImageError| match e {
        image::ImageError::IoError(source) => OcrError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => OcrError::ImageDecode {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    };
    let reader = ImageReader::open(path).map_err(|source| {
        if source.kind() == ErrorKind::NotFound {
            OcrError::ImageNotFound {
                path: path.to_path_buf(),
            }
        } else {
            OcrError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let mut reader = reader
        .with_guessed_format()
        .map_err(|source| OcrError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if reader.format().is_none() {
        return Err(OcrError::ImageDecode {
            path: path.to_path_buf(),
            reason: "not an image in a known format (JPEG, PNG, WebP, TIFF, BMP, GIF)".to_string(),
        });
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(OcrError::ImageTooLarge {
            path: path.to_path_buf(),
            width,
            height,
            max_pixels: MAX_PIXELS,
        });
    }
    if width == 0 || height == 0 {
        return Err(OcrError::ImageDecode {
            path: path.to_path_buf(),
            reason: format!("the image is {width} x {height} pixels"),
        });
    }
    // A broken EXIF block is no reason to refuse the picture: it is then read as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Shrinks `img` so that its longer side is at most `max_side` (aspect kept, bilinear with
/// anti-aliasing); returns it with the scale applied (1.0 when it already fits).
pub fn fit_within(img: RgbImage, max_side: u32) -> (RgbImage, f32) {
    let longer = img.width().max(img.height());
    if longer <= max_side || max_side == 0 {
        return (img, 1.0);
    }
    let scale = max_side as f32 / longer as f32;
    let w = ((img.width() as f32 * scale).round() as u32).max(1);
    let h = ((img.height() as f32 * scale).round() as u32).max(1);
    let out = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
    (out, scale)
}

/// The long side a shrunk image keeps while another way to fit remains (lower JPEG quality):
/// about 1000 px keeps a receipt's small print legible to OCR.
pub const MIN_LEGIBLE_SIDE: u32 = 1000;

/// The smallest long side [`shrink_to_jpeg`] tries before it gives up.
pub const MIN_SHRINK_SIDE: u32 = 320;

/// JPEG qualities tried at each size, best first.
const SHRINK_QUALITIES: &[u8] = &[85, 70, 55];

/// At [`MIN_LEGIBLE_SIDE`] and below, lower qualities are tried too before the image is made
/// smaller still: blockier text reads better than smaller text.
const SMALL_QUALITIES: &[u8] = &[85, 70, 55, 40, 30];

/// An image re-encoded by [`shrink_to_jpeg`].
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The JPEG file's bytes.
    pub jpeg: Vec<u8>,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// The JPEG quality used (1 to 100).
    pub quality: u8,
    /// The original file's size in bytes.
    pub original_bytes: u64,
}

/// Re-encodes the image at `path` as a JPEG of at most `max_bytes`, in memory: decoded and turned
/// upright like every engine's input ([`load`]), then encoded at falling qualities (85, 70, 55)
/// and, when none fits, scaled down (by the ratio of the sizes, never below
/// [`MIN_LEGIBLE_SIDE`] on the long side while a smaller step remains above it) and tried again;
/// at [`MIN_LEGIBLE_SIDE`] and below, qualities 40 and 30 are tried as well before the next step
/// down, until [`MIN_SHRINK_SIDE`]. The file itself is never written to, and no file is made.
///
/// Errors: those of [`load`] (a file that is not an image, e.g. a PDF, cannot be shrunk), and
/// [`OcrError::CannotShrink`] when even the smallest JPEG is over `max_bytes`.
///
/// ```no_run
/// let shrunk = ocr_client::picture::shrink_to_jpeg("photo.jpg".as_ref(), 1024 * 1024)?;
/// assert!(shrunk.jpeg.len() <= 1024 * 1024);
/// # Ok::<(), ocr_client::OcrError>(())
/// ```
pub fn shrink_to_jpeg(path: &Path, max_bytes: u64) -> Result<Shrunk, OcrError> {
    let original_bytes = std::fs::metadata(path)
        .map_err(|source| OcrError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let original = load_rgb(path)?;
    let encode_error = |e: image::ImageError| OcrError::ImageDecode {
        path: path.to_path_buf(),
        reason: format!("re-encoding as JPEG failed: {e}"),
    };
    let mut long_side = original.width().max(original.height());
    loop {
        let img = if long_side >= original.width().max(original.height()) {
            std::borrow::Cow::Borrowed(&original)
        } else {
            std::borrow::Cow::Owned(resized(&original, long_side))
        };
        let mut smallest = Vec::new();
        let mut smallest_quality = 0;
        let qualities = if long_side <= MIN_LEGIBLE_SIDE {
            SMALL_QUALITIES
        } else {
            SHRINK_QUALITIES
        };
        for &quality in qualities {
            let jpeg = encode_jpeg(&img, quality).map_err(encode_error)?;
            let fits = jpeg.len() as u64 <= max_bytes;
            smallest = jpeg;
            smallest_quality = quality;
            if fits {
                break;
            }
        }
        if smallest.len() as u64 <= max_bytes {
            return Ok(Shrunk {
                jpeg: smallest,
                width: img.width(),
                height: img.height(),
                quality: smallest_quality,
                original_bytes,
            });
        }
        let Some(next) = next_side(long_side, smallest.len() as u64, max_bytes) else {
            return Err(OcrError::CannotShrink {
                path: path.to_path_buf(),
                limit: max_bytes,
                actual: original_bytes,
                smallest: smallest.len() as u64,
                width: img.width(),
                height: img.height(),
            });
        };
        long_side = next;
    }
}

/// The next long side to try after a JPEG of `bytes` at `long_side` was over `max_bytes`: bytes
/// go roughly with the pixel count, so the side shrinks by the square root of the ratio (with a
/// margin, at least by 15 %, at most by 70 % at once). `None` when nothing smaller is left to try.
fn next_side(long_side: u32, bytes: u64, max_bytes: u64) -> Option<u32> {
    if long_side <= MIN_SHRINK_SIDE {
        return None;
    }
    let factor = ((max_bytes as f64 / bytes.max(1) as f64).sqrt() * 0.9).clamp(0.3, 0.85);
    let mut next = (f64::from(long_side) * factor) as u32;
    if long_side > MIN_LEGIBLE_SIDE && next < MIN_LEGIBLE_SIDE {
        next = MIN_LEGIBLE_SIDE;
    }
    Some(next.max(MIN_SHRINK_SIDE))
}

/// `img` scaled so that its long side is `long_side` (aspect kept; triangle filter).
fn resized(img: &RgbImage, long_side: u32) -> RgbImage {
    let longer = img.width().max(img.height());
    let scale = f64::from(long_side) / f64::from(longer);
    let w = ((f64::from(img.width()) * scale).round() as u32).max(1);
    let h = ((f64::from(img.height()) * scale).round() as u32).max(1);
    image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle)
}

/// `img` as a baseline JPEG of this quality.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(img)?;
    Ok(out)
}

/// Checks that `path` is a regular file whose bytes are an image kind every engine reads (JPEG,
/// PNG, GIF, WebP, BMP, TIFF), without decoding it: a missing file, a folder or a FIFO, and a
/// file of another kind (text, PDF, HTML) are refused with their own errors.
pub fn check_image_file(path: &Path) -> Result<binary_io::Kind, OcrError> {
    let opened = binary_io::open(path).map_err(|e| match e {
        binary_io::Error::NotFound { path } => OcrError::ImageNotFound { path },
        other => OcrError::NotAFile {
            path: path.to_path_buf(),
            source: other,
        },
    })?;
    if !opened.kind.is_image() {
        return Err(OcrError::NotAnImage {
            path: path.to_path_buf(),
            actual: opened.kind.mime().to_string(),
        });
    }
    Ok(opened.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_file_is_a_decode_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.jpg");
        std::fs::write(&path, b"\xFF\xD8\xFF\xE0 this is not really a jpeg").unwrap();
        assert!(matches!(load(&path), Err(OcrError::ImageDecode { .. })));
        let text = dir.path().join("notes.png");
        std::fs::write(&text, b"hello, I am text").unwrap();
        assert!(matches!(load(&text), Err(OcrError::ImageDecode { .. })));
    }

    #[test]
    fn missing_file_is_not_found() {
        let err = load(Path::new("/nonexistent/receipt.jpg")).unwrap_err();
        assert!(matches!(err, OcrError::ImageNotFound { .. }));
    }

    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        // A PNG whose header claims 10000 x 10000 pixels: refused from the header alone.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.png");
        std::fs::write(&path, png_header(10_000, 10_000)).unwrap();
        match load(&path) {
            Err(OcrError::ImageTooLarge { width, height, .. }) => {
                assert_eq!((width, height), (10_000, 10_000));
            }
            other => panic!("expected ImageTooLarge, got {other:?}"),
        }
    }

    #[test]
    fn exif_orientation_is_applied() {
        // A 4 x 2 JPEG marked "rotate 90 clockwise" (orientation 6) comes out 2 x 4.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rotated.jpg");
        let img = RgbImage::from_pixel(4, 2, image::Rgb([200, 10, 10]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .encode_image(&img)
            .unwrap();
        std::fs::write(&path, with_exif_orientation(&jpeg, 6)).unwrap();
        let loaded = load_rgb(&path).unwrap();
        assert_eq!((loaded.width(), loaded.height()), (2, 4));
    }

    #[test]
    fn fit_within_keeps_small_images() {
        let img = RgbImage::new(30, 10);
        let (same, scale) = fit_within(img, 100);
        assert_eq!((same.width(), scale), (30, 1.0));
    }

    #[test]
    fn next_side_shrinks_by_the_size_ratio_and_stops_at_the_legible_side_first() {
        // Four times too big: half the side, with a margin.
        assert_eq!(next_side(4000, 4_000_000, 1_000_000), Some(1800));
        // A small overshoot still shrinks by 15 %.
        assert_eq!(next_side(2000, 1_050_000, 1_000_000), Some(1700));
        // Crossing 1000 px: 1000 first, smaller only after that failed.
        assert_eq!(next_side(1200, 9_000_000, 1_000_000), Some(1000));
        assert_eq!(next_side(1000, 9_000_000, 1_000_000), Some(320));
        assert_eq!(next_side(MIN_SHRINK_SIDE, 9_000_000, 1_000_000), None);
    }

    #[test]
    fn a_noisy_photo_is_shrunk_under_the_limit_upright_and_legible_sized() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.jpg");
        // 1600 x 2400 of noise, marked "rotate 90 clockwise": comes out 2400 wide.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let img = RgbImage::from_fn(1600, 2400, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let v = (seed & 0xff) as u8;
            image::Rgb([v, v.wrapping_add(40), 255 - v])
        });
        let jpeg = encode_jpeg(&img, 95).unwrap();
        std::fs::write(&path, with_exif_orientation(&jpeg, 6)).unwrap();
        let before = std::fs::read(&path).unwrap();
        let limit = 400_000;
        assert!(before.len() > 4 * limit as usize);
        let shrunk = shrink_to_jpeg(&path, limit).unwrap();
        assert!(shrunk.jpeg.len() as u64 <= limit);
        assert!(
            shrunk.width > shrunk.height,
            "upright: {}x{}",
            shrunk.width,
            shrunk.height
        );
        assert_eq!(shrunk.original_bytes, before.len() as u64);
        let decoded = image::load_from_memory(&shrunk.jpeg).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (shrunk.width, shrunk.height)
        );
        // Untouched, and nothing else written beside it.
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A limit no JPEG of it meets is refused, naming the smallest try.
        match shrink_to_jpeg(&path, 2_000) {
            Err(OcrError::CannotShrink {
                smallest, width, ..
            }) => {
                assert!(smallest > 2_000);
                assert_eq!(width, MIN_SHRINK_SIDE);
            }
            other => panic!("expected CannotShrink, got {other:?}"),
        }
    }

    #[test]
    fn at_the_legible_side_lower_qualities_come_before_a_smaller_image() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.png");
        let mut seed = 0x1234_5678_9abc_def1u64;
        let img = RgbImage::from_fn(1000, 750, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            image::Rgb([(seed & 0x3f) as u8 + 150; 3])
        });
        img.save(&path).unwrap();
        let at = |q| encode_jpeg(&img, q).unwrap().len() as u64;
        let limit = (at(55) + at(40)) / 2;
        assert!(std::fs::metadata(&path).unwrap().len() > limit);
        let shrunk = shrink_to_jpeg(&path, limit).unwrap();
        assert_eq!((shrunk.width, shrunk.quality), (1000, 40));
    }

    /// A PNG whose header claims `width` x `height` but which holds a few bytes of pixels.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        for (kind, data) in [
            (&b"IHDR"[..], &ihdr[..]),
            (b"IDAT", &[0x78, 0x9c, 0x03, 0x00]),
            (b"IEND", &[]),
        ] {
            let mut chunk = kind.to_vec();
            chunk.extend_from_slice(data);
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(&chunk);
            out.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// Inserts an APP1 Exif segment holding only an orientation tag after the JPEG's SOI.
    pub(crate) fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
        tiff.extend_from_slice(&1u16.to_be_bytes()); // one IFD entry
        tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_be_bytes()); // count
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
        let mut app1 = b"Exif\x00\x00".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }
}
