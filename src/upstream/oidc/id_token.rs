//! ID token validation (OIDC Core §3.1.3.7): the header and claims read by Lobby itself with a
//! precise reason for each defect, the JWS signature checked with the one JWKS key that fits the
//! header, and the claims checked once more by `openidconnect`'s verifier.
//!
//! Owns: every rule an ID token must pass. Must not touch: where the keys come from (`cache`
//! hands them in), the token request, userinfo, sessions.

use super::{Discovered, Jwks, OidcError};
use crate::domain::{JwsAlg, OidcConfig};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClaimsVerificationError, ClientId, IssuerUrl, Nonce};
use serde_json::{Map, Value};
use std::str::FromStr;
use subtle::ConstantTimeEq;

/// `iat` may be at most this far in the future (clock skew between the IdP and Lobby).
pub const MAX_IAT_SKEW_SECS: i64 = 60;

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn b64_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The claims of an ID token as Lobby reads them before the signature check.
pub(super) struct PreChecked {
    pub(super) header: SigHeader,
    pub(super) claims: Map<String, Value>,
    pub(super) subject: String,
}

/// What a JWS header says about its signature, once checked: an allowed `alg`, and the `kid`.
pub(super) struct SigHeader {
    alg: JwsAlg,
    kid: Option<String>,
}

/// The header of an ID token: `alg` in the connection's allow-list (never `none`, never an
/// HMAC), no `crit` (RFC 7515 §4.1.11: no extension Lobby would have to understand).
pub(super) fn sig_header(h: &str, cfg: &OidcConfig) -> Result<SigHeader, OidcError> {
    let header = b64_json(h)
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| OidcError::id_token("id_token_malformed", "header is not JSON"))?;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg_name.eq_ignore_ascii_case("none") || alg_name.is_empty() {
        return Err(OidcError::id_token("alg_none", "unsigned token"));
    }
    // The per-connection allow-list; `validate` guarantees it holds only asymmetric algs.
    let alg = match JwsAlg::from_name(alg_name) {
        Some(a) if cfg.allows(a) => a,
        _ => {
            return Err(OidcError::id_token(
                "alg_not_allowed",
                format!("alg {alg_name:.20} is not allowed for this connection"),
            ));
        }
    };
    if header.contains_key("crit") {
        return Err(OidcError::id_token("crit_header", "crit header present"));
    }
    Ok(SigHeader {
        alg,
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
    })
}

/// OIDC Core §3.1.3.7, checked on the decoded token with precise reasons. The signature is
/// checked afterwards ([`verify_signature`]), then the claims once more ([`recheck_claims`]).
pub(super) fn precheck(
    token: &str,
    cfg: &OidcConfig,
    issuer: &str,
    nonce: &str,
    now: i64,
) -> Result<PreChecked, OidcError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::id_token(
            "id_token_malformed",
            "not a JWS compact serialization",
        ));
    };
    let header = sig_header(h, cfg)?;
    let claims = b64_json(p)
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| OidcError::id_token("id_token_malformed", "payload is not a JSON object"))?;
    match claims.get("iss").and_then(Value::as_str) {
        Some(i) if i == issuer => {}
        Some(_) => return Err(OidcError::id_token("iss_mismatch", "iss is not the issuer")),
        None => return Err(OidcError::id_token("iss_missing", "no iss")),
    }
    let subject = match claims.get("sub").and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.len() <= 255 => s.to_owned(),
        Some(_) => return Err(OidcError::id_token("sub_invalid", "sub empty or too long")),
        None => return Err(OidcError::id_token("sub_missing", "no sub")),
    };
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(OidcError::id_token("aud_missing", "no aud")),
    };
    if !auds.contains(&cfg.client_id.as_str()) {
        return Err(OidcError::id_token(
            "aud_mismatch",
            "aud does not contain the client id",
        ));
    }
    match claims.get("azp") {
        // §2: azp, when present, is the party the token was issued to.
        Some(Value::String(a)) if a == &cfg.client_id => {}
        Some(_) => {
            return Err(OidcError::id_token(
                "azp_mismatch",
                "azp is not the client id",
            ));
        }
        // §3.1.3.7 (4): several audiences need azp.
        None if auds.len() > 1 => {
            return Err(OidcError::id_token(
                "azp_missing",
                "several audiences and no azp",
            ));
        }
        None => {}
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(OidcError::id_token("exp_missing", "no exp"));
    };
    if exp <= now {
        return Err(OidcError::id_token("expired", "exp is in the past"));
    }
    let Some(iat) = claims.get("iat").and_then(Value::as_i64) else {
        return Err(OidcError::id_token("iat_missing", "no iat"));
    };
    if iat > now + MAX_IAT_SKEW_SECS {
        return Err(OidcError::id_token("iat_in_future", "iat is in the future"));
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if ct_eq(n, nonce) => {}
        Some(_) => return Err(OidcError::id_token("nonce_mismatch", "nonce differs")),
        None => return Err(OidcError::id_token("nonce_missing", "no nonce")),
    }
    Ok(PreChecked {
        header,
        claims,
        subject,
    })
}

/// The JWS signature of an ID token (RFC 7515 §5.2) with the one key of `keys` that fits its
/// checked header ([`sig_header`], RFC 7517 §4): the same `kid` when the token names one, a key
/// type (and curve) of the `alg`, no `use` other than `sig`, no other `alg`. No fitting key →
/// `unknown_kid` (the caller fetches the JWKS again once); several → `ambiguous_kid` (OIDC Core
/// §10.1: a `kid` is needed when a set has more than one key).
pub(super) fn verify_signature(
    token: &str,
    header: &SigHeader,
    keys: &Jwks,
) -> Result<(), OidcError> {
    let (message, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| OidcError::id_token("id_token_malformed", "not a JWS"))?;
    let mut fitting = keys
        .keys
        .iter()
        .filter(|k| (header.kid.is_none() || k.kid == header.kid) && k.fits(header.alg));
    let key = match (fitting.next(), fitting.next()) {
        (None, _) => {
            return Err(OidcError::id_token(
                "unknown_kid",
                "no key of the IdP's key set fits this token",
            ));
        }
        (Some(k), None) => k,
        (Some(_), Some(_)) => {
            return Err(OidcError::id_token(
                "ambiguous_kid",
                "several keys of the IdP's key set fit this token and it names none",
            ));
        }
    };
    // RFC 7515 §2: base64url without padding.
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| OidcError::id_token("bad_signature", "the signature does not verify"))?;
    if key.verifies(header.alg, message.as_bytes(), &signature) {
        Ok(())
    } else {
        Err(OidcError::id_token(
            "bad_signature",
            "the signature does not verify",
        ))
    }
}

/// The claims once more, by openidconnect's verifier (the signature is [`verify_signature`]'s
/// job): a second, independent reading of OIDC Core §3.1.3.7. A token passes only if both agree.
pub(super) fn recheck_claims(
    token: &str,
    cfg: &OidcConfig,
    disc: &Discovered,
    nonce: &str,
    now: i64,
) -> Result<(), OidcError> {
    let parsed = CoreIdToken::from_str(token)
        .map_err(|e| OidcError::id_token("id_token_invalid", e.to_string()))?;
    let issuer = IssuerUrl::new(disc.issuer.clone())
        .map_err(|_| OidcError::DiscoveryInvalid("issuer is not a URL".into()))?;
    let verifier: CoreIdTokenVerifier<'_> = CoreIdTokenVerifier::new_public_client(
        ClientId::new(cfg.client_id.clone()),
        issuer,
        CoreJsonWebKeySet::new(vec![]),
    )
    .insecure_disable_signature_check()
    // Extra audiences are accepted only with azp = client id (checked by `precheck` and by
    // the crate, which requires azp when there are several).
    .set_other_audience_verifier_fn(|_| true)
    .set_time_fn(move || chrono_at(now))
    .set_issue_time_verifier_fn(move |iat| {
        if iat.timestamp() > now + MAX_IAT_SKEW_SECS {
            Err("iat is in the future".into())
        } else {
            Ok(())
        }
    });
    let expected = Nonce::new(nonce.to_owned());
    parsed
        .claims(&verifier, &expected)
        .map(|_| ())
        .map_err(map_verification)
}

/// Every check [`OidcConnector::validate_id_token`](super::OidcConnector::validate_id_token)
/// makes on a token, with the key set handed in instead of fetched: [`precheck`],
/// [`verify_signature`], [`recheck_claims`]. Returns the subject. An entry point for the fuzz
/// targets (`fuzz/`), not an API.
#[doc(hidden)]
pub fn check_id_token(
    token: &str,
    cfg: &OidcConfig,
    disc: &Discovered,
    keys: &Jwks,
    nonce: &str,
    now: i64,
) -> Result<String, OidcError> {
    let pre = precheck(token, cfg, &disc.issuer, nonce, now)?;
    verify_signature(token, &pre.header, keys)?;
    recheck_claims(token, cfg, disc, nonce, now)?;
    Ok(pre.subject)
}

fn map_verification(e: ClaimsVerificationError) -> OidcError {
    use ClaimsVerificationError as C;
    let detail = e.to_string().chars().take(300).collect::<String>();
    let reason = match &e {
        C::Expired(_) => "expired",
        C::InvalidAudience(_) => "aud_mismatch",
        C::InvalidIssuer(_) => "iss_mismatch",
        C::InvalidNonce(_) => "nonce_mismatch",
        // No `SignatureVerification`: the crate's signature check is off (`recheck_claims`).
        _ => "id_token_invalid",
    };
    OidcError::id_token(reason, detail)
}

fn chrono_at(unix: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::oidc::parse_jwks;
    use crate::upstream::oidc::testkit::{ISS, cfg};

    fn tok(header: serde_json::Value, claims: serde_json::Value) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        )
    }

    /// An EC P-256 key: its PKCS#8 DER (to sign) and its public JWK (x, y).
    fn ec_key() -> (Vec<u8>, serde_json::Value) {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref()).unwrap();
        let p = pair.public_key().as_ref(); // 0x04 || x || y
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65]),
        });
        (der.as_ref().to_vec(), jwk)
    }

    fn es256(der: &[u8], kid: Option<&str>) -> String {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = kid.map(str::to_owned);
        let key = jsonwebtoken::EncodingKey::from_ec_der(der);
        jsonwebtoken::encode(&h, &serde_json::json!({"sub": "s"}), &key).unwrap()
    }

    fn set(keys: Vec<serde_json::Value>) -> Jwks {
        parse_jwks(&serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()).unwrap()
    }

    /// The header check, then the signature, as `validate_id_token` runs them.
    fn check(token: &str, keys: &Jwks, cfg: &OidcConfig) -> Result<(), OidcError> {
        let header = sig_header(token.split('.').next().unwrap(), cfg)?;
        verify_signature(token, &header, keys)
    }

    fn reason(r: Result<(), OidcError>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(OidcError::IdToken { reason, .. }) => reason,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }

    /// The signature check picks the one key that fits the header (RFC 7517 §4), or says why
    /// none does.
    #[test]
    fn signature_key_selection() {
        let c = cfg(ISS); // allows RS256 and ES256
        let (d1, mut j1) = ec_key();
        let (d2, mut j2) = ec_key();
        j1["kid"] = "k1".into();
        j2["kid"] = "k2".into();
        let both = set(vec![j1.clone(), j2.clone()]);
        assert_eq!(reason(check(&es256(&d1, Some("k1")), &both, &c)), "ok");
        assert_eq!(reason(check(&es256(&d2, Some("k2")), &both, &c)), "ok");
        // Signed by k2, claiming k1.
        assert_eq!(
            reason(check(&es256(&d2, Some("k1")), &both, &c)),
            "bad_signature"
        );
        // No kid and two fitting keys: OIDC Core §10.1 wants a kid.
        assert_eq!(reason(check(&es256(&d1, None), &both, &c)), "ambiguous_kid");
        // No kid and one key: that key.
        assert_eq!(
            reason(check(&es256(&d1, None), &set(vec![j1.clone()]), &c)),
            "ok"
        );
        // An unknown kid, an encryption key, a key for another alg or curve: no key fits.
        assert_eq!(
            reason(check(&es256(&d1, Some("k9")), &both, &c)),
            "unknown_kid"
        );
        let mut enc = j1.clone();
        enc["use"] = "enc".into();
        let mut other_alg = j1.clone();
        other_alg["alg"] = "ES384".into();
        let mut other_curve = j1.clone();
        other_curve["crv"] = "P-384".into();
        for k in [enc, other_alg, other_curve] {
            assert_eq!(
                reason(check(&es256(&d1, Some("k1")), &set(vec![k.clone()]), &c)),
                "unknown_kid",
                "{k}"
            );
        }
        // A tampered payload.
        let t = es256(&d1, Some("k1"));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        parts[1] = &forged;
        assert_eq!(reason(check(&parts.join("."), &both, &c)), "bad_signature");
        // An alg outside the connection's list, even with a fitting key.
        let mut narrow = c.clone();
        narrow.allowed_algs = vec!["RS256".into()];
        assert_eq!(
            reason(check(&es256(&d1, Some("k1")), &both, &narrow)),
            "alg_not_allowed"
        );
    }

    #[test]
    fn precheck_names_each_defect() {
        let now = 1_800_000_000;
        let good = serde_json::json!({"iss": ISS, "sub": "s", "aud": "lobby", "exp": now + 60,
            "iat": now, "nonce": "n"});
        let h = serde_json::json!({"alg": "RS256", "kid": "k"});
        let c = cfg(ISS);
        assert!(precheck(&tok(h.clone(), good.clone()), &c, ISS, "n", now).is_ok());
        let reason = |header: serde_json::Value, f: &dyn Fn(&mut serde_json::Value)| {
            let mut claims = good.clone();
            f(&mut claims);
            match precheck(&tok(header, claims), &c, ISS, "n", now) {
                Err(e) => e.reason(),
                Ok(_) => "accepted",
            }
        };
        let rm = |k: &'static str| {
            move |v: &mut serde_json::Value| {
                v.as_object_mut().unwrap().remove(k);
            }
        };
        assert_eq!(
            reason(serde_json::json!({"alg": "none"}), &|_| {}),
            "alg_none"
        );
        assert_eq!(
            reason(serde_json::json!({"alg": "HS256"}), &|_| {}),
            "alg_not_allowed"
        );
        assert_eq!(
            reason(serde_json::json!({"alg": "PS256"}), &|_| {}),
            "alg_not_allowed"
        );
        assert_eq!(
            reason(serde_json::json!({"alg": "RS256", "crit": ["x"]}), &|_| {}),
            "crit_header"
        );
        assert_eq!(reason(h.clone(), &rm("iss")), "iss_missing");
        assert_eq!(reason(h.clone(), &rm("sub")), "sub_missing");
        assert_eq!(reason(h.clone(), &rm("aud")), "aud_missing");
        assert_eq!(reason(h.clone(), &rm("exp")), "exp_missing");
        assert_eq!(reason(h.clone(), &rm("iat")), "iat_missing");
        assert_eq!(reason(h.clone(), &rm("nonce")), "nonce_missing");
        assert_eq!(reason(h.clone(), &|v| v["sub"] = "".into()), "sub_invalid");
        assert_eq!(
            reason(h.clone(), &|v| v["iss"] = format!("{ISS}/").into()),
            "iss_mismatch"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["aud"] = serde_json::json!(["x"])),
            "aud_mismatch"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["aud"] = serde_json::json!(["lobby", "x"])),
            "azp_missing"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["azp"] = "x".into()),
            "azp_mismatch"
        );
        assert_eq!(reason(h.clone(), &|v| v["exp"] = now.into()), "expired");
        assert_eq!(
            reason(h.clone(), &|v| v["iat"] = (now + 61).into()),
            "iat_in_future"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["iat"] = (now + 60).into()),
            "accepted"
        );
        assert_eq!(
            reason(h.clone(), &|v| v["nonce"] = "m".into()),
            "nonce_mismatch"
        );
        assert_eq!(
            precheck("a.b", &c, ISS, "n", now).err().map(|e| e.reason()),
            Some("id_token_malformed")
        );
    }
}
