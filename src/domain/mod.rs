//! Plain types and pure logic: no I/O, no terminal, no Kubernetes client.

pub mod names;
pub mod selector;
