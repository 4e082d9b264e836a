//! The CLI verbs besides the cockpit: the same data and the same operations, for scripts.

pub mod act;
mod alerts;
#[cfg(feature = "sim")]
pub mod embedded;
pub mod get;
pub mod logs;
mod ordered;
mod records;
mod table;
