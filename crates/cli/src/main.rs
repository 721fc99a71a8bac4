//! `gemlive`: chat and talk with Gemini Live from a terminal.

fn main() {
    std::process::exit(2);
}
