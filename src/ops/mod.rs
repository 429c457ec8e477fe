//! Operating Lobby: what an operator watches it with. Today the Prometheus metrics
//! (`metrics.rs`): their names, the helpers every module records them with, the process-wide
//! recorder and the separate listener that serves `/metrics`.
//!
//! A leaf: nothing here imports another module of the crate, so every layer (edges, `upstream`,
//! `storage`, `state`) may call it without making an import cycle. Must not touch: anything a
//! request does — recording a figure never changes an outcome.

pub mod metrics;
