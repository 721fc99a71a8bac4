//! Project automation: `cargo xtask ci | replay | conformance [DIR]`.

fn main() {}
