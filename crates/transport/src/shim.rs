//! TEMPORARY until the protocol crate lands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseClass {
    pub retriable: bool,
    pub hint: &'static str,
}
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("protocol")]
pub struct Error;
