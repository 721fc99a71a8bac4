#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gemlive_fuzzing::run("session", data));
