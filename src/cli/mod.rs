//! The CLI verbs besides the cockpit: the same data, for scripts.

pub mod get;
mod ordered;
mod records;
mod table;
