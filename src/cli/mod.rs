//! The CLI verbs besides the cockpit: the same data, for scripts.

mod alerts;
#[cfg(feature = "sim")]
pub mod embedded;
pub mod get;
mod ordered;
mod records;
mod table;
