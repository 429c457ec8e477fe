//! Upstream ID tokens and JWKS documents. First byte even: the rest is an ID token, checked
//! by every rule of the OIDC connector (`check_id_token`: header, claims, the JWS signature
//! with the fixture key set, the claims again by `openidconnect`). First byte odd: the rest is a
//! JWKS document (`parse_jwks`), and the fixture tokens are then checked against whatever keys
//! it yields.
//!
//! Beyond "no panic, no hang": the fuzzer cannot sign with the fixture keys, so a token it
//! builds that passes must be for the seeds' subject.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobby::domain::JwsAlg;
use lobby::upstream::oidc::{Jwks, check_id_token, parse_jwks};
use lobby_fuzz::{
    OIDC_JWKS, OIDC_NONCE, OIDC_TOKEN_ES256, OIDC_TOKEN_RS256, now_unix, oidc_config,
    oidc_discovered, split_mode,
};
use std::sync::OnceLock;

fn fixture_keys() -> &'static Jwks {
    static K: OnceLock<Jwks> = OnceLock::new();
    K.get_or_init(|| parse_jwks(OIDC_JWKS.as_bytes()).expect("fixture JWKS"))
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, input)) = split_mode(data) else {
        return;
    };
    let (cfg, disc) = (oidc_config(), oidc_discovered());
    if mode % 2 == 0 {
        if let Ok(sub) = check_id_token(input, &cfg, &disc, fixture_keys(), OIDC_NONCE, now_unix())
        {
            assert_eq!(sub, "alice");
        }
    } else if let Ok(keys) = parse_jwks(input.as_bytes()) {
        assert!(keys.key_count() > 0);
        assert!(keys.usable_with(&JwsAlg::ALL) <= keys.key_count());
        for token in [OIDC_TOKEN_RS256, OIDC_TOKEN_ES256] {
            let _ = check_id_token(token, &cfg, &disc, &keys, OIDC_NONCE, now_unix());
        }
    }
});
