//! Terminal UI building blocks that are driven by data files rather than code.

pub mod action;
pub mod color_depth;
pub mod config_file;
pub mod keymap;
pub mod keys;
pub mod theme;
