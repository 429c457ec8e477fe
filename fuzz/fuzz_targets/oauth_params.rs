//! The `/authorize` and `/token` parameter parsing, PKCE, `Authorization: Basic`.
//!
//! The body is `lobby::fuzzing::oauth_params` (src/fuzzing/mod.rs: the input format, what is
//! asserted); `cargo test` runs it too, on every seed, every input under
//! `fuzz/regressions/oauth_params/` and deterministic mutations (src/fuzzing/replay.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lobby::fuzzing::oauth_params(data);
});
