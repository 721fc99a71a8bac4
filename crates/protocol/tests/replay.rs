//! Replays every scenario in `fixtures/` through a session and compares the event trace with its
//! reviewed snapshot. Adding a scenario means adding a `.jsonl` file.

use std::time::Instant;

#[allow(clippy::disallowed_methods)] // Tests pick an origin; the crate itself never reads the clock.
fn origin() -> Instant {
    Instant::now()
}

use gemlive_protocol::replay::replay;

#[test]
fn fixtures() {
    insta::glob!("../../../fixtures", "*.jsonl", |path| {
        let text = std::fs::read_to_string(path).expect("read fixture");
        let trace = replay(&text, origin()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        insta::assert_yaml_snapshot!(trace);
    });
}

/// Fixture hygiene, also run by `cargo xtask replay`: steps in time order, small audio, no secrets.
#[test]
fn fixtures_are_tidy() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        count += 1;
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path.display();
        let mut last = 0u64;
        for (i, line) in text.lines().enumerate().skip(1) {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            let t = v["t_ms"]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}:{}: t_ms missing", i + 1));
            assert!(t >= last, "{name}:{}: t_ms goes back in time", i + 1);
            last = t;
            assert!(
                line.len() <= 8 * 1024,
                "{name}:{}: keep fixture lines under 8 KiB (trim audio)",
                i + 1
            );
        }
        for secret in ["key=", "AIza", "access_token=", "Bearer ya29"] {
            assert!(
                !text.contains(secret),
                "{name}: looks like it holds a secret ({secret})"
            );
        }
    }
    assert!(count >= 20, "expected the scenario fixtures, found {count}");
}

/// Every snapshot belongs to a fixture that still exists (insta's `--unreferenced=reject`).
#[test]
fn no_orphaned_snapshots() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(root.join("tests/snapshots")).expect("snapshots dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(fixture) = name
            .strip_prefix("replay__fixtures@")
            .and_then(|n| n.strip_suffix(".snap"))
        {
            assert!(
                root.join("../../fixtures").join(fixture).is_file(),
                "{name} has no fixture: delete it"
            );
        } else {
            panic!("unexpected file in tests/snapshots: {name}");
        }
    }
}
