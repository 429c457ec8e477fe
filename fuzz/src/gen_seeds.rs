//! Writes the SAML seed corpora (`seeds/saml_acs`, `seeds/saml_metadata`) from the fixture
//! key, at the fixed clock: good responses in the three encodings, the signed-part variants,
//! unsigned, SHA-1, and the signature-wrapping shapes. The output is committed; the other
//! targets' seeds are plain files written by hand.
//!
//! A libFuzzer binary like the targets (everything in this crate is built with coverage
//! instrumentation, which only libFuzzer's runtime provides): the seeds are written by its
//! `init` block, so run it once, from `fuzz/`, as
//! `cargo +nightly fuzz run -s none gen_seeds -- -runs=0`.
#![no_main]

use lobby_fuzz::corpus::{self, Spec};
use lobby_fuzz::{SAML_ACS, SAML_IDP, SAML_IN_RESPONSE_TO, SAML_SP, now, saml_signer};
use std::fs;

fn write(dir: &str, name: &str, mode: Option<u8>, body: &str) {
    fs::create_dir_all(dir).expect("mkdir");
    let mut bytes = mode.map(|m| vec![m]).unwrap_or_default();
    bytes.extend_from_slice(body.as_bytes());
    fs::write(format!("{dir}/{name}"), bytes).expect("write seed");
}

fn write_seeds() {
    let signer = saml_signer();
    let mut spec = Spec::new(SAML_SP, SAML_ACS, SAML_IDP, now());
    spec.in_response_to = Some(SAML_IN_RESPONSE_TO.into());
    let d = "seeds/saml_acs";
    let good = corpus::good(&spec, signer);
    write(d, "good-xml", Some(0), &good);
    write(d, "good-post", Some(1), &corpus::b64(&good));
    write(
        d,
        "good-redirect",
        Some(2),
        &corpus::deflate_b64(good.as_bytes()),
    );
    write(
        d,
        "assertion-signed-only",
        Some(0),
        &corpus::assertion_signed_only(&spec, signer),
    );
    write(
        d,
        "response-signed-only",
        Some(0),
        &corpus::response_signed_only(&spec, signer),
    );
    write(d, "unsigned", Some(0), &corpus::unsigned(&spec));
    write(d, "sha1", Some(0), &corpus::sha1_signed(&spec, signer));
    for n in [1u8, 3, 5, 7] {
        write(
            d,
            &format!("xsw{n}"),
            Some(0),
            &corpus::xsw(n, &spec, signer),
        );
    }

    let m = "seeds/saml_metadata";
    let md = corpus::idp_metadata(SAML_IDP, "https://idp.test/sso", &[signer]);
    write(m, "entity", Some(0), &md);
    write(m, "entity-wanted", Some(1), &md);
    let other = corpus::idp_metadata(
        "https://other.test/metadata",
        "https://other.test/sso",
        &[signer],
    );
    let strip = |s: &str| s.replacen(" xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"", "", 1);
    let aggregate = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}{}</md:EntitiesDescriptor>",
        strip(&md),
        strip(&other)
    );
    write(m, "aggregate-wanted", Some(1), &aggregate);
    write(m, "aggregate", Some(0), &aggregate);
    check_fixtures(&good);
    println!("seeds written under seeds/; the fixtures are accepted as they should be");
}

/// The fixtures are what the targets assume: the good response and both ID tokens pass every
/// check (else the fuzzers would never reach the code behind a valid signature).
fn check_fixtures(good: &str) {
    use lobby::upstream::oidc::{check_id_token, parse_jwks};
    use lobby::upstream::saml::dsig::SamaelDsig;
    use lobby_fuzz::*;
    let a = lobby::upstream::saml::validate::validate(&SamaelDsig::default(), good, &saml_expect())
        .expect("the good SAML response is accepted");
    assert_eq!(a.name_id, "alice@acme.test");
    let keys = parse_jwks(OIDC_JWKS.as_bytes()).expect("the fixture JWKS parses");
    for t in [OIDC_TOKEN_RS256, OIDC_TOKEN_ES256] {
        let sub = check_id_token(
            t,
            &oidc_config(),
            &oidc_discovered(),
            &keys,
            OIDC_NONCE,
            now_unix(),
        )
        .expect("the fixture ID token is accepted");
        assert_eq!(sub, "alice");
    }
}

libfuzzer_sys::fuzz_target!(init: write_seeds(), |_data: &[u8]| {});
