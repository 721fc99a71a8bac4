#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gemlive_fuzzing::run("setup_json", data));
