//! The protocol crate stays pure: its normal dependency tree holds no runtime, socket, audio or
//! file-format crates. Also run by `cargo xtask ci` through `cargo test`.

use std::process::Command;

#[test]
fn normal_dependency_tree_is_pure() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "gemlive-protocol",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let forbidden = [
        "tokio",
        "async-tungstenite",
        "tungstenite",
        "mio",
        "cpal",
        "hound",
        "reqwest",
        "rustls",
        "hyper",
        "futures",
    ];
    let found: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| forbidden.contains(name))
        .collect();
    assert!(
        found.is_empty(),
        "crates/protocol must stay pure, yet depends on {found:?}"
    );
    assert!(tree.contains("serde_json"), "the tree looks empty:\n{tree}");
}
