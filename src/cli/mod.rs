//! The CLI verbs besides the cockpit: the same data, for scripts.

#[cfg(feature = "sim")]
pub mod embedded;
pub mod get;
mod ordered;
mod records;
mod table;
