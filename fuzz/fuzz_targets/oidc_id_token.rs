//! Upstream ID tokens through every check of the OIDC connector, and JWKS documents.
//!
//! The body is `lobby::fuzzing::oidc_id_token` (src/fuzzing/mod.rs: the input format, what is
//! asserted); `cargo test` runs it too, on every seed, every input under
//! `fuzz/regressions/oidc_id_token/` and deterministic mutations (src/fuzzing/replay.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lobby::fuzzing::oidc_id_token(data);
});
