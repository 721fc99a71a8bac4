//! Every input the fuzzers ever crashed on, replayed through the same target on stable, and every
//! generated seed through its target (so the harness keeps working without a nightly toolchain).
//!
//! A crash is kept as `tests/crashes/<target>/<what-it-was>`: adding a regression is adding a file.

use std::path::Path;

#[path = "../../../tests/support/prereq.rs"]
mod prereq;

use gemlive_fuzzing::{TARGETS, run, seeds, target};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_crash_found_stays_fixed() {
    let mut replayed = 0;
    for dir in std::fs::read_dir(root().join("tests/crashes")).expect("tests/crashes") {
        let dir = dir.expect("entry").path();
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        assert!(target(&name).is_some(), "{}: no such target", dir.display());
        for file in std::fs::read_dir(&dir).expect("a target's crashes") {
            let file = file.expect("entry").path();
            let data = std::fs::read(&file).expect("a crash input");
            eprintln!("{}", file.display());
            run(&name, &data);
            replayed += 1;
        }
    }
    assert!(replayed >= 2, "replayed {replayed} crashes");
}

#[test]
fn every_seed_runs_through_its_target() {
    // Without the corpus (a note, or a failure under CI), the fixtures' seeds alone.
    let sessions = prereq::conformance_sessions().unwrap_or_default();
    let seeds = seeds::generate(&root().join("../../fixtures"), &sessions).expect("seeds");
    for t in TARGETS {
        let count = seeds.iter().filter(|s| s.target == t.name).count();
        assert!(count >= 3, "{}: {count} seeds", t.name);
    }
    for seed in &seeds {
        run(seed.target, &seed.data);
    }
}
