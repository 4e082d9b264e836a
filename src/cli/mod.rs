//! The CLI verbs besides the cockpit: the same data, for scripts.

pub mod get;
mod records;
