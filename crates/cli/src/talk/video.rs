//! `--video`: image files sent as `realtimeInput.video` frames at a fixed rate.
//!
//! Files are sent as they are (JPEG or PNG, checked by their first bytes); this build does not
//! scale images, so large ones are sent whole with a warning.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

/// The size above which an image is probably larger than the recommended 768×768.
const LARGE: u64 = 1 << 20;

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
    if file.metadata().is_ok_and(|m| m.len() > LARGE) {
        tracing::warn!(
            "{} is over 1 MiB; it is sent as it is (768x768 is recommended)",
            path.display()
        );
    }
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
