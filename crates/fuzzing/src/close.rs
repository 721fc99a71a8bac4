//! Close codes and reasons: the client's classification and the emulator's reason fitting.

use protocol::{Close, CloseInfo};

/// The longest close reason a WebSocket close frame holds, in bytes.
const MAX_REASON: usize = 123;

/// Input: the code (u16 LE), then the reason's bytes (lossily UTF-8).
pub(crate) fn run(data: &[u8]) {
    let Some(code) = data.get(..2) else { return };
    let code = u16::from_le_bytes([code[0], code[1]]);
    let reason = String::from_utf8_lossy(&data[2..]);
    let close = Close::from_wire(code, &reason);
    assert_eq!(close.code, code);
    assert_eq!(close.reason, reason);
    assert!(!close.hint.is_empty(), "every close has a hint");
    assert_eq!(CloseInfo::new(code, reason.clone()).classify(), close);
    let _ = close.to_string();
    let fitted = emulator::fit_close_reason(&reason);
    assert!(fitted.len() <= MAX_REASON, "{} bytes", fitted.len());
    assert!(reason.starts_with(fitted));
    if reason.len() <= MAX_REASON {
        assert_eq!(fitted, reason);
    } else {
        // Cut at the last character boundary that fits: nothing more is lost.
        assert!(fitted.len() + 4 > MAX_REASON, "cut short: {}", fitted.len());
    }
}
