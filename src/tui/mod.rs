//! Terminal UI building blocks that are driven by data files rather than code.

pub mod action;
pub mod app;
pub mod color_depth;
mod column_fit;
mod commands;
mod complete;
pub mod config_file;
pub mod derived;
mod detail_pane;
mod help;
pub mod history;
pub mod keymap;
pub mod keys;
mod layout;
pub mod line_edit;
mod logs_view;
mod op_dialog;
mod overview;
mod queue_panel;
pub mod render;
pub mod run;
mod snapshot_part;
mod style;
pub mod table;
mod table_widget;
pub mod theme;
pub mod views;
