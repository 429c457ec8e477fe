//! The SAML ACS `SAMLResponse` (base64 or DEFLATE, UTF-8, XML, every Response check with
//! the real XML-DSig and the fixture certificate pinned).
//!
//! The body is `lobby::fuzzing::saml_acs` (src/fuzzing/mod.rs: the input format, what is asserted);
//! `cargo test` runs it too, on every seed, every input under `fuzz/regressions/saml_acs/` and
//! deterministic mutations (src/fuzzing/replay.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lobby::fuzzing::saml_acs(data);
});
