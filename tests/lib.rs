//! End-to-end tests that span several gemlive crates live in this package.
