//! The `/authorize` and `/token` request parsing: the whole input as a query string or form
//! body (`Params`), then the pure checks each endpoint makes on its parameters — repeated
//! parameters, `prompt`, `code_challenge`, `max_age`, PKCE verification of `code_verifier`
//! against `code_challenge` — and the input as an `Authorization: Basic` header value.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use lobby::http::params::{MAX_PARAM_BYTES, Params};
use lobby::provider::authorize::{parse_prompt, valid_challenge};
use lobby::provider::token::{basic_credentials, pkce_s256_ok};

const AUTHORIZE: [&str; 21] = [
    "client_id",
    "redirect_uri",
    "state",
    "response_type",
    "response_mode",
    "scope",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "organization",
    "domain_hint",
    "ui_locales",
    "id_token_hint",
    "request",
    "request_uri",
    "display",
    "acr_values",
    "invitation",
];
const TOKEN: [&str; 8] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
];

fuzz_target!(|data: &[u8]| {
    let p = Params::parse(data);
    let _ = p.first_repeated(&AUTHORIZE);
    let _ = p.first_repeated(&TOKEN);
    for n in AUTHORIZE.iter().chain(TOKEN.iter()) {
        if let Ok(Some(v)) = p.get(n) {
            assert!(!v.is_empty(), "an empty value counts as omitted");
            let _ = v.len() > MAX_PARAM_BYTES;
        }
    }
    let g = |n: &str| p.get(n).ok().flatten();
    if let Some(prompt) = parse_prompt(g("prompt")) {
        assert!(!(prompt.none && (prompt.login || prompt.select_account)));
    }
    if let Some(c) = g("code_challenge") {
        if valid_challenge(c) {
            assert_eq!(c.len(), 43);
        }
        if let Some(v) = g("code_verifier")
            && pkce_s256_ok(v, c)
        {
            assert!(valid_challenge(c));
        }
    }
    let _ = g("max_age").map(str::parse::<u32>);
    let q = String::from_utf8_lossy(data);
    let _ = Params::from_query(Some(&q)).is_empty();

    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value);
        let _ = basic_credentials(&headers);
    }
});
