//! The declarative import file: parsing, error lines, and a whole import into an
//! empty in-memory SQLite store (twice: the second changes nothing).
//!
//! The body is `lobby::fuzzing::declarative_import` (src/fuzzing/mod.rs: the input format, what is
//! asserted); `cargo test` runs it too, on every seed, every input under
//! `fuzz/regressions/declarative_import/` and deterministic mutations (src/fuzzing/replay.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lobby::fuzzing::declarative_import(data);
});
