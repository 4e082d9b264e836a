//! Plain types and pure logic: no I/O, no terminal, no Kubernetes client.

pub mod names;
pub mod quantity;
pub mod selector;
