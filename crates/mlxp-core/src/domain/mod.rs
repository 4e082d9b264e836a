//! Plain types and pure logic: no I/O, no terminal, no Kubernetes client.

pub mod cost;
pub mod located;
pub mod names;
pub mod objects;
pub mod pools;
pub mod quantity;
pub mod selector;
pub mod serving;
pub mod training;
