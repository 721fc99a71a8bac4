//! `fuzz/protocol.dict` (libFuzzer's dictionary) holds every field of the wire models, so that
//! the fuzzers can write any key the decoders know.

use std::path::Path;

use protocol::decode::to_camel_case;

#[test]
fn the_dictionary_has_every_wire_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dict = std::fs::read_to_string(root.join("fuzz/protocol.dict")).expect("the dictionary");
    let mut missing = Vec::new();
    let mut fields = 0;
    for entry in std::fs::read_dir(root.join("crates/protocol/src/wire")).expect("wire sources") {
        let source = std::fs::read_to_string(entry.expect("entry").path()).expect("a source");
        for line in source.lines() {
            let Some((name, _)) = line
                .trim()
                .strip_prefix("pub ")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let name = name.trim().trim_start_matches("r#");
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            {
                continue;
            }
            fields += 1;
            let key = format!("\"\\\"{}\\\":\"", to_camel_case(name));
            if !dict.lines().any(|l| l == key) {
                missing.push(key);
            }
        }
    }
    assert!(fields > 150, "found {fields} fields");
    assert!(
        missing.is_empty(),
        "add to fuzz/protocol.dict:\n{}",
        missing.join("\n")
    );
}
