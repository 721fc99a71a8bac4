//! The page, built into the binary: plain HTML, CSS and JavaScript, and the AudioWorklet
//! processors. Nothing to install or build at run time.

/// One file of the page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asset {
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static [u8],
}

const fn asset(content_type: &'static str, body: &'static str) -> Asset {
    Asset {
        content_type,
        body: body.as_bytes(),
    }
}

/// The file served at `path`.
pub(crate) fn get(path: &str) -> Option<Asset> {
    Some(match path {
        "/" | "/index.html" => asset(
            "text/html; charset=utf-8",
            include_str!("../assets/index.html"),
        ),
        "/app.js" => asset(
            "text/javascript; charset=utf-8",
            include_str!("../assets/app.js"),
        ),
        "/live.js" => asset(
            "text/javascript; charset=utf-8",
            include_str!("../assets/live.js"),
        ),
        "/worklets.js" => asset(
            "text/javascript; charset=utf-8",
            include_str!("../assets/worklets.js"),
        ),
        "/app.css" => asset("text/css; charset=utf-8", include_str!("../assets/app.css")),
        "/favicon.svg" => asset("image/svg+xml", include_str!("../assets/favicon.svg")),
        _ => return None,
    })
}
