//! The bodies of the fuzz targets in `fuzz/fuzz_targets/` — one function per target, each
//! taking the raw input — so that libFuzzer (`cargo +nightly fuzz run <target>`) and the stable
//! replay test (`replay.rs`: every committed seed and regression input plus deterministic
//! mutations of them, in every `cargo test`) run exactly the same code. Compiled for tests and
//! with the `fuzzing` cargo feature only (which the fuzz workspace turns on); not part of the
//! service.
//!
//! Each function asserts what must hold beyond "no panic, no hang" (an accepted SAML response or
//! ID token carries exactly the fixtures' identity, a second import changes nothing, …) and
//! returns whether the input got all the way through (accepted), which the replay test uses to
//! check that the seeds still reach the code behind the signatures.
//!
//! Owns: driving Lobby's parsers of untrusted input with fixed fixtures. Must not touch:
//! Lobby's behaviour (it calls the public parsing and validation functions as they are).

pub mod fixtures;
#[cfg(test)]
mod mutate;
#[cfg(test)]
mod replay;

use crate::admin::declarative::{import, locate, parse};
use crate::domain::JwsAlg;
use crate::http::params::{MAX_PARAM_BYTES, Params};
use crate::provider::authorize::{parse_prompt, valid_challenge};
use crate::provider::token::{basic_credentials, pkce_s256_ok};
use crate::upstream::oidc::{Jwks, check_id_token, parse_jwks};
use crate::upstream::saml::dsig::SamaelDsig;
use crate::upstream::saml::metadata::parse_idp;
use crate::upstream::saml::validate;
use axum::http::{HeaderMap, HeaderValue, header};
use fixtures::*;
use std::sync::OnceLock;

/// The body of a fuzz target: the raw input in, whether it was accepted out.
pub type Target = fn(&[u8]) -> bool;

/// The names of the targets, as under `fuzz/fuzz_targets/` and `fuzz/seeds/`, with their
/// functions.
pub const TARGETS: [(&str, Target); 5] = [
    ("saml_acs", saml_acs),
    ("oidc_id_token", oidc_id_token),
    ("oauth_params", oauth_params),
    ("saml_metadata", saml_metadata),
    ("declarative_import", declarative_import),
];

/// The input after its first byte, which picks the mode of a target; `None` when empty or not
/// UTF-8 (every input of these parsers reaches Lobby as a `&str`).
pub fn split_mode(data: &[u8]) -> Option<(u8, &str)> {
    let (&mode, rest) = data.split_first()?;
    Some((mode, std::str::from_utf8(rest).ok()?))
}

/// The SAML ACS input: the `SAMLResponse` value as a browser posts it, through base64 (or
/// DEFLATE for the Redirect encoding), UTF-8, the strict XML tree and every check of
/// `validate::validate`, with the real XML-DSig (xmlsec through samael) and the fixture
/// certificate pinned. First byte: 0 = the XML itself (so the fuzzer can mutate the document
/// directly), 1 = base64 (HTTP-POST binding), 2 = DEFLATE + base64 (mod 3).
///
/// Nothing the fuzzer builds can carry a valid signature of another identity, so an accepted
/// response must say exactly what the seeds say (`alice@acme.test`, issued by the fixture IdP,
/// in response to the seeds' request, assertion signed).
pub fn saml_acs(data: &[u8]) -> bool {
    let Some((mode, input)) = split_mode(data) else {
        return false;
    };
    let xml = match mode % 3 {
        0 => input.to_owned(),
        1 => match validate::decode_post(input) {
            Ok(x) => x,
            Err(_) => return false,
        },
        _ => match validate::inflate_redirect(input) {
            Ok(x) => x,
            Err(_) => return false,
        },
    };
    let Ok(a) = validate::validate(&SamaelDsig::default(), &xml, &saml_expect()) else {
        return false;
    };
    assert_eq!(a.name_id, "alice@acme.test");
    assert_eq!(a.issuer, SAML_IDP);
    assert_eq!(a.in_response_to.as_deref(), Some(SAML_IN_RESPONSE_TO));
    assert!(a.assertion_signed);
    true
}

fn fixture_keys() -> &'static Jwks {
    static K: OnceLock<Jwks> = OnceLock::new();
    K.get_or_init(|| parse_jwks(OIDC_JWKS.as_bytes()).expect("fixture JWKS"))
}

/// Upstream ID tokens and JWKS documents. First byte even: the rest is an ID token, checked by
/// every rule of the OIDC connector (`check_id_token`: header, claims, the JWS signature with the
/// fixture key set, the claims again by `openidconnect`). First byte odd: the rest is a JWKS
/// document (`parse_jwks`), and the fixture tokens are then checked against whatever keys it
/// yields.
///
/// The fuzzer cannot sign with the fixture keys, so a token it builds that passes must be for
/// the seeds' subject.
pub fn oidc_id_token(data: &[u8]) -> bool {
    let Some((mode, input)) = split_mode(data) else {
        return false;
    };
    let (cfg, disc) = (oidc_config(), oidc_discovered());
    if mode % 2 == 0 {
        let Ok(sub) = check_id_token(input, &cfg, &disc, fixture_keys(), OIDC_NONCE, now_unix())
        else {
            return false;
        };
        assert_eq!(sub, "alice");
        return true;
    }
    let Ok(keys) = parse_jwks(input.as_bytes()) else {
        return false;
    };
    assert!(keys.key_count() > 0);
    assert!(keys.usable_with(&JwsAlg::ALL) <= keys.key_count());
    for token in [OIDC_TOKEN_RS256, OIDC_TOKEN_ES256] {
        let _ = check_id_token(token, &cfg, &disc, &keys, OIDC_NONCE, now_unix());
    }
    true
}

/// `/authorize`'s parameters: the three checked before errors may go back to the client, then
/// the rest (the same list the endpoint checks).
const AUTHORIZE_FIRST: [&str; 3] = ["client_id", "redirect_uri", "state"];
use crate::provider::authorize::CLIENT_PARAMS as AUTHORIZE;
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

/// The `/authorize` and `/token` request parsing: the whole input as a query string or form
/// body (`Params`), then the pure checks each endpoint makes on its parameters — repeated
/// parameters, `prompt`, `code_challenge`, `max_age`, PKCE verification of `code_verifier`
/// against `code_challenge` — and the input as an `Authorization: Basic` header value.
/// Accepted: a PKCE match, or Basic credentials decoded.
pub fn oauth_params(data: &[u8]) -> bool {
    let mut accepted = false;
    let p = Params::parse(data);
    let _ = p.first_repeated(&AUTHORIZE_FIRST);
    let _ = p.first_repeated(&AUTHORIZE);
    let _ = p.first_repeated(&TOKEN);
    for n in AUTHORIZE_FIRST.iter().chain(&AUTHORIZE).chain(&TOKEN) {
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
            accepted = true;
        }
    }
    let _ = g("max_age").map(str::parse::<u32>);
    let q = String::from_utf8_lossy(data);
    let _ = Params::from_query(Some(&q)).is_empty();

    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value);
        accepted |= matches!(basic_credentials(&headers), Ok(Some(_)));
    }
    accepted
}

/// IdP metadata as an admin pastes it or a metadata URL serves it (`metadata::parse_idp`): the
/// strict XML tree, entity selection (single entity or aggregate), signing certificates (X.509
/// parsing), SSO endpoints. First byte odd: the connection names the entity to pick.
pub fn saml_metadata(data: &[u8]) -> bool {
    let Some((mode, input)) = split_mode(data) else {
        return false;
    };
    let want = (mode % 2 == 1).then_some(SAML_IDP);
    let Ok(m) = parse_idp(input, want) else {
        return false;
    };
    assert!(
        !m.signing_certs.is_empty(),
        "metadata without a signing cert is refused"
    );
    for c in &m.signing_certs {
        let _ = c.der_bytes();
    }
    true
}

/// One single-threaded runtime for the import target, built on first use and never changed.
fn runtime() -> &'static tokio::runtime::Runtime {
    static R: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    R.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// The declarative import file (`lobby import tenant.yaml`): YAML parsing into the document
/// shape with every element's validation on conversion, the line lookup that places errors
/// (`locate`, also called with a path taken from the input after a NUL byte), and — for every
/// input that parses — the whole import (building, cross-object validation, planning, the one
/// transaction) into a fresh, empty in-memory SQLite store, so each run starts from the same
/// state. A second import of the same file must then change nothing (import is idempotent).
/// Accepted: the file imported. Must not be called from inside an async runtime.
pub fn declarative_import(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let (yaml, path) = text.split_once('\0').unwrap_or((text, "orgs[0].slug"));
    if let Some(line) = locate(yaml, path) {
        assert!(line >= 1 && line <= yaml.lines().count().max(1));
    }
    if parse(yaml).is_err() {
        return false;
    }
    runtime().block_on(async {
        let storage = crate::storage::open("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        if import(storage.as_ref(), yaml, "fuzz").await.is_err() {
            return false;
        }
        let again = import(storage.as_ref(), yaml, "fuzz")
            .await
            .expect("a file that imported once imports again");
        assert_eq!(again.changes(), 0, "a second import changes nothing");
        true
    })
}
