//! Cross-crate tests: `client_emulator.rs` holds sessions between gemlive's own client
//! (`gemlive-transport`) and the emulator over real loopback WebSockets.
