//! `--video`: image files sent as `realtimeInput.video` frames at a fixed rate.
//!
//! Files are JPEG or PNG (checked by their first bytes). Those that fit in 768×768 (the
//! recommended size) and weigh under 1 MiB are sent as they are; bigger ones are scaled down to
//! fit and sent as JPEG.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

/// Images beyond this size, or [`MAX_SIDE`], are scaled and re-encoded.
const LARGE: usize = 1 << 20;
/// The recommended frame size is 768×768.
const MAX_SIDE: u32 = 768;
/// JPEG quality of re-encoded frames.
const QUALITY: u8 = 85;

/// One image to send.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) path: PathBuf,
    pub(crate) mime: &'static str,
}

/// The MIME type of an image from its first bytes.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

fn frame(path: &Path) -> Result<Frame> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let mut file = std::fs::File::open(path)
        .map_err(|e| crate::exit::Usage(format!("cannot read {}: {e}", path.display())))?;
    let n = file.read(&mut head)?;
    let Some(mime) = sniff(&head[..n]) else {
        bail!(crate::exit::Usage(format!(
            "{} is not a JPEG or PNG image",
            path.display()
        )));
    };
    Ok(Frame {
        path: path.to_owned(),
        mime,
    })
}

/// The frames of `--video`: the file, or the directory's `.jpg`, `.jpeg` and `.png` files in
/// name order.
pub(crate) fn frames(path: &Path) -> Result<Vec<Frame>> {
    if !path.is_dir() {
        return Ok(vec![frame(path)?]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| crate::exit::Usage(format!("cannot read {}: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(crate::exit::Usage(format!(
            "{} holds no .jpg, .jpeg or .png files",
            path.display()
        )));
    }
    files.iter().map(|p| frame(p)).collect()
}

/// A frame ready to send: the file's bytes, or a scaled JPEG when it is too big.
pub(crate) fn prepare(bytes: Vec<u8>, mime: &'static str) -> Result<(Vec<u8>, &'static str)> {
    use image::ImageReader;
    use std::io::Cursor;
    let (w, h) = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()?
        .into_dimensions()?;
    if w <= MAX_SIDE && h <= MAX_SIDE && bytes.len() <= LARGE {
        return Ok((bytes, mime));
    }
    let image = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()?
        .decode()?;
    let scaled = if w > MAX_SIDE || h > MAX_SIDE {
        image.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY);
    scaled.to_rgb8().write_with_encoder(encoder)?;
    Ok((out, "image/jpeg"))
}

/// The time between frames at `fps`.
pub(crate) fn interval(fps: f64) -> Result<Duration> {
    if !(fps > 0.0 && fps <= 30.0) {
        bail!(crate::exit::Usage(format!(
            "--video-fps must be above 0 and at most 30, not {fps}"
        )));
    }
    Ok(Duration::from_secs_f64(1.0 / fps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn big_images_are_scaled_to_fit_768_and_small_ones_kept() {
        let small = png(320, 240);
        let (bytes, mime) = prepare(small.clone(), "image/png").unwrap();
        assert_eq!((bytes, mime), (small, "image/png"));
        let (bytes, mime) = prepare(png(2000, 1000), "image/png").unwrap();
        assert_eq!(mime, "image/jpeg");
        let scaled = image::load_from_memory(&bytes).unwrap();
        assert_eq!((scaled.width(), scaled.height()), (768, 384));
        assert!(prepare(b"\x89PNG\r\n\x1a\nbroken".to_vec(), "image/png").is_err());
    }

    #[test]
    fn images_are_recognized_by_their_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"GIF89a"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.png"), b"\x89PNG\r\n\x1a\nxx").unwrap();
        std::fs::write(dir.path().join("a.jpg"), [0xFF, 0xD8, 0xFF, 0]).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"hi").unwrap();
        let f = frames(dir.path()).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].mime, f[1].mime), ("image/jpeg", "image/png"));
        std::fs::write(dir.path().join("c.png"), b"not an image").unwrap();
        assert!(frames(dir.path()).is_err());
        assert!(interval(0.0).is_err());
        assert_eq!(interval(2.0).unwrap(), Duration::from_millis(500));
    }
}
