//! IdP metadata (`metadata::parse_idp`): single entities and aggregates.
//!
//! The body is `lobby::fuzzing::saml_metadata` (src/fuzzing/mod.rs: the input format, what is
//! asserted); `cargo test` runs it too, on every seed, every input under
//! `fuzz/regressions/saml_metadata/` and deterministic mutations (src/fuzzing/replay.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lobby::fuzzing::saml_metadata(data);
});
