//! JWTs with the ring's keys: signing with the active key of an algorithm (compact JWS, `kid`
//! in the header) and verifying a token Lobby issued, with an explicit algorithm allow-list.
//!
//! Owns: the JWS encoding and the checks of `verify` (algorithm, `crit`, `typ`, `kid`,
//! signature, `exp`, `nbf`, `iss`, `aud`). Must not touch: which keys exist (`ring`), which are
//! published (`jwks`), what the claims mean (the caller's).

use super::alg::{jws_alg, lobby_alg};
use super::ring::KeyRing;
use super::{KeyError, Result};
use crate::domain::SigningAlg;
use base64::Engine;
use jsonwebtoken::{Header, Validation};
use serde::Serialize;
use serde_json::Value;

/// Checks applied by [`KeyRing::verify`] beyond the signature, algorithm and key.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// Required exact `iss`, when set.
    pub issuer: Option<&'a str>,
    /// Required member of `aud` (string or array), when set.
    pub audience: Option<&'a str>,
    /// Required `typ` header (compared case-insensitively, RFC 7515 §4.1.9), when set: e.g.
    /// `at+jwt` so an ID token is never accepted as an access token (RFC 8725 §3.11).
    pub typ: Option<&'a str>,
    /// Clock skew allowed on `exp`/`nbf`, seconds.
    pub leeway_secs: i64,
}

impl KeyRing {
    /// A JWT (`typ: JWT`) over `claims`, signed by the active key for `alg`, `kid` in the header.
    pub fn sign<T: Serialize>(&self, claims: &T, alg: SigningAlg) -> Result<String> {
        self.sign_typed(claims, alg, "JWT")
    }

    /// Like [`KeyRing::sign`] with another `typ` (e.g. `at+jwt`, RFC 9068 §2.1).
    pub fn sign_typed<T: Serialize>(
        &self,
        claims: &T,
        alg: SigningAlg,
        typ: &str,
    ) -> Result<String> {
        let key = self.signer(alg)?;
        let mut header = Header::new(jws_alg(alg));
        header.kid = Some(key.kid.to_string());
        header.typ = Some(typ.to_owned());
        let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let h = serde_json::to_vec(&header).map_err(|e| KeyError::Sign(e.to_string()))?;
        let c = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        // RFC 7515 §7.1: BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature).
        let mut out = format!("{}.{}", enc(&h), enc(&c));
        let sig = key.signer.sign(out.as_bytes()).map_err(KeyError::Sign)?;
        out.push('.');
        out.push_str(&enc(&sig));
        Ok(out)
    }

    /// Verifies a JWT issued by this ring and returns its claims.
    ///
    /// RFC 8725 §3.1 / §2.1: the algorithm is checked against the caller's allow-list, which can
    /// only name RS256, ES256 or EdDSA — `none` and HMAC are rejected before any key is used.
    /// RFC 7515 §4.1.4: `kid` is required and must name a published key of that algorithm, so
    /// a token is never checked against a key chosen by the token beyond that. Then the
    /// signature, `exp` (required), `nbf`, and optionally `iss`/`aud` (RFC 7519 §4.1).
    pub fn verify(
        &self,
        token: &str,
        algs: &[SigningAlg],
        opts: &VerifyOptions<'_>,
    ) -> Result<Value> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| KeyError::InvalidToken("malformed"))?;
        let alg = lobby_alg(header.alg)
            .filter(|a| algs.contains(a))
            .ok_or(KeyError::InvalidToken("algorithm not allowed"))?;
        // RFC 7515 §4.1.11: Lobby understands no header extensions.
        if header.crit.is_some() {
            return Err(KeyError::InvalidToken("unsupported crit header"));
        }
        if let Some(typ) = opts.typ
            && !header
                .typ
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return Err(KeyError::InvalidToken("wrong typ"));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or(KeyError::InvalidToken("no kid"))?;
        let now = self.clock.now();
        let snap = self.snapshot();
        let key = snap
            .keys
            .iter()
            .find(|k| k.kid.as_str() == kid && k.alg == alg && k.published(now))
            .ok_or(KeyError::InvalidToken("unknown key"))?;

        let mut v = Validation::new(jws_alg(alg));
        v.algorithms = vec![jws_alg(alg)];
        v.required_spec_claims.clear();
        v.validate_exp = false; // checked below against the injected clock
        v.validate_nbf = false;
        v.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(token, &key.decoding, &v)
            .map_err(|_| KeyError::InvalidToken("bad signature"))?;
        let claims = data.claims;

        let now_s = now.unix_timestamp();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(KeyError::InvalidToken("no exp"))?;
        if now_s >= exp.saturating_add(opts.leeway_secs) {
            return Err(KeyError::InvalidToken("expired"));
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or(KeyError::InvalidToken("bad nbf"))?;
            if now_s.saturating_add(opts.leeway_secs) < nbf {
                return Err(KeyError::InvalidToken("not yet valid"));
            }
        }
        if let Some(iss) = opts.issuer
            && claims.get("iss").and_then(Value::as_str) != Some(iss)
        {
            return Err(KeyError::InvalidToken("wrong issuer"));
        }
        if let Some(aud) = opts.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(s)) => s == aud,
                Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(aud)),
                _ => false,
            };
            if !ok {
                return Err(KeyError::InvalidToken("wrong audience"));
            }
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Clock, ManualClock};
    use crate::keys::seal::SealKey;
    use crate::keys::testkit::*;
    use crate::storage::KeyStore;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
    use std::sync::Arc;

    /// Runs the algorithm-independent key tests on a given store (memory here; SQL when the
    /// storage backend exists).
    async fn each_alg_signs_and_verifies_on(store: Arc<dyn KeyStore>) {
        let c = clock();
        let ring = ring_on(store, c.clone()).await;
        for alg in ALL {
            let t = ring.sign(&claims(&c), alg).unwrap();
            let h = jsonwebtoken::decode_header(&t).unwrap();
            assert_eq!(h.alg, jws_alg(alg));
            assert_eq!(
                h.kid.as_deref(),
                Some(ring.signer(alg).unwrap().kid().as_str())
            );
            let got = ring
                .verify(
                    &t,
                    &[alg],
                    &VerifyOptions {
                        issuer: Some("https://login.example.com"),
                        audience: Some("app-2"),
                        typ: Some("jwt"),
                        leeway_secs: 0,
                    },
                )
                .unwrap();
            assert_eq!(got["sub"], "user-1");
            // Independent check: plain jsonwebtoken with the published JWK accepts our token.
            let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(ring.jwks()).unwrap();
            let jwk = jwks.find(h.kid.as_deref().unwrap()).unwrap();
            let mut v = Validation::new(jws_alg(alg));
            v.set_audience(&["app-1"]);
            let plain = jsonwebtoken::decode::<Value>(&t, &DecodingKey::from_jwk(jwk).unwrap(), &v)
                .unwrap();
            assert_eq!(plain.claims["sub"], "user-1");
            // And a token made by jsonwebtoken with the exposed EncodingKey verifies with us.
            let mut jh = Header::new(jws_alg(alg));
            jh.kid = h.kid.clone();
            let jt =
                jsonwebtoken::encode(&jh, &claims(&c), ring.signer(alg).unwrap().encoding_key())
                    .unwrap();
            ring.verify(&jt, &[alg], &VerifyOptions::default()).unwrap();
            // Not in the caller's allow-list: rejected even though the key is ours.
            let others: Vec<SigningAlg> = ALL.into_iter().filter(|a| *a != alg).collect();
            assert!(matches!(
                ring.verify(&t, &others, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("algorithm not allowed"))
            ));
        }
        // A second ring on the same store (a restart, or another instance) loads the same keys
        // and verifies tokens of the first.
        let seal = Arc::new(SealKey::from_bytes(&[42u8; 32]).unwrap());
        let again = KeyRing::load(ring.store.clone(), seal, c.clone())
            .await
            .unwrap();
        again.ensure_keys(&ALL).await.unwrap();
        for alg in ALL {
            assert_eq!(
                again.signer(alg).unwrap().kid(),
                ring.signer(alg).unwrap().kid()
            );
            let t = ring.sign(&claims(&c), alg).unwrap();
            again.verify(&t, &[alg], &VerifyOptions::default()).unwrap();
        }
    }

    #[tokio::test]
    async fn each_alg_signs_and_verifies() {
        each_alg_signs_and_verifies_on(Arc::new(MemKeys::default())).await;
    }

    #[tokio::test]
    async fn verify_rejects_alg_none() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let kid = ring.signer(SigningAlg::RS256).unwrap().kid().to_owned();
        let body = b64(&claims(&c));
        for alg in ["none", "None", "NONE"] {
            let h = b64(&serde_json::json!({"alg": alg, "kid": kid, "typ": "JWT"}));
            for sig in ["", "AAAA"] {
                let t = format!("{h}.{body}.{sig}");
                assert!(
                    ring.verify(&t, &ALL, &VerifyOptions::default()).is_err(),
                    "alg {alg} accepted"
                );
            }
        }
    }

    #[tokio::test]
    async fn verify_rejects_hs256_signed_with_the_public_key() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let signer = ring.signer(SigningAlg::RS256).unwrap();
        let jwk = signer.jwk().clone();
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        // Every plausible "public key bytes" an attacker might use as the HMAC secret.
        let secrets: Vec<Vec<u8>> = vec![
            serde_json::to_vec(&jwk).unwrap(),
            n,
            jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        ];
        for secret in secrets {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some(signer.kid().to_string());
            let t =
                jsonwebtoken::encode(&h, &claims(&c), &EncodingKey::from_secret(&secret)).unwrap();
            assert!(matches!(
                ring.verify(&t, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("algorithm not allowed"))
            ));
        }
    }

    #[tokio::test]
    async fn verify_rejects_foreign_keys_and_tampering() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let (other, _) = ring_on_fresh(c.clone()).await;
        for alg in ALL {
            // A key that is not in the ring.
            let foreign = other.sign(&claims(&c), alg).unwrap();
            assert!(matches!(
                ring.verify(&foreign, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("unknown key"))
            ));
            // A foreign signature under our kid.
            let mut h = Header::new(jws_alg(alg));
            h.kid = Some(ring.signer(alg).unwrap().kid().to_string());
            let forged =
                jsonwebtoken::encode(&h, &claims(&c), other.signer(alg).unwrap().encoding_key())
                    .unwrap();
            assert!(matches!(
                ring.verify(&forged, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("bad signature"))
            ));
            // A tampered payload.
            let good = ring.sign(&claims(&c), alg).unwrap();
            let parts: Vec<&str> = good.split('.').collect();
            let mut evil = claims(&c);
            evil["sub"] = "admin".into();
            let tampered = format!("{}.{}.{}", parts[0], b64(&evil), parts[2]);
            assert!(matches!(
                ring.verify(&tampered, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("bad signature"))
            ));
            // No kid.
            let t = jsonwebtoken::encode(
                &Header::new(jws_alg(alg)),
                &claims(&c),
                ring.signer(alg).unwrap().encoding_key(),
            )
            .unwrap();
            assert!(matches!(
                ring.verify(&t, &ALL, &VerifyOptions::default()),
                Err(KeyError::InvalidToken("no kid"))
            ));
        }
        // Garbage never panics.
        for junk in [
            "",
            ".",
            "..",
            "a.b.c",
            "x.y",
            "eyJhbGciOiJSUzI1NiJ9..",
            "\u{0}",
        ] {
            assert!(ring.verify(junk, &ALL, &VerifyOptions::default()).is_err());
        }
    }

    async fn ring_on_fresh(c: Arc<ManualClock>) -> (KeyRing, Arc<MemKeys>) {
        let store = Arc::new(MemKeys::default());
        let seal = Arc::new(SealKey::generate().unwrap());
        let ring = KeyRing::load(store.clone(), seal, c).await.unwrap();
        ring.ensure_keys(&ALL).await.unwrap();
        (ring, store)
    }

    #[tokio::test]
    async fn verify_checks_exp_nbf_iss_aud() {
        let c = clock();
        let (ring, _) = ring(c.clone()).await;
        let now = c.now().unix_timestamp();
        let alg = SigningAlg::ES256;
        let opts = VerifyOptions::default();
        let mut cl = claims(&c);
        cl.as_object_mut().unwrap().remove("exp");
        let t = ring.sign(&cl, alg).unwrap();
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("no exp"))
        ));
        let t = ring.sign(&claims(&c), alg).unwrap();
        c.advance(time::Duration::seconds(301));
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("expired"))
        ));
        let lenient = VerifyOptions {
            leeway_secs: 60,
            ..opts
        };
        ring.verify(&t, &[alg], &lenient).unwrap();

        let mut cl = claims(&c);
        cl["nbf"] = (now + 10_000).into();
        let t = ring.sign(&cl, alg).unwrap();
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("not yet valid"))
        ));

        let t = ring.sign(&claims(&c), alg).unwrap();
        let wrong_iss = VerifyOptions {
            issuer: Some("https://evil.example"),
            ..opts
        };
        assert!(ring.verify(&t, &[alg], &wrong_iss).is_err());
        let wrong_aud = VerifyOptions {
            audience: Some("app-3"),
            ..opts
        };
        assert!(ring.verify(&t, &[alg], &wrong_aud).is_err());

        // typ: an ID token (typ JWT) is not an access token (typ at+jwt).
        let at_only = VerifyOptions {
            typ: Some("at+jwt"),
            ..opts
        };
        assert!(matches!(
            ring.verify(&t, &[alg], &at_only),
            Err(KeyError::InvalidToken("wrong typ"))
        ));
        let at = ring.sign_typed(&claims(&c), alg, "at+jwt").unwrap();
        ring.verify(&at, &[alg], &at_only).unwrap();

        // crit: no extension is understood, so a token naming one is refused.
        let kid = ring.signer(alg).unwrap().kid().to_string();
        let mut h = Header::new(jws_alg(alg));
        h.kid = Some(kid);
        h.crit = Some(vec!["exp".into()]);
        let t = jsonwebtoken::encode(&h, &claims(&c), ring.signer(alg).unwrap().encoding_key())
            .unwrap();
        assert!(matches!(
            ring.verify(&t, &[alg], &opts),
            Err(KeyError::InvalidToken("unsupported crit header"))
        ));
    }

    /// The same case on the real SQL backend (SQLite in memory).
    mod sqlite {
        use super::*;

        #[tokio::test]
        async fn each_alg_signs_and_verifies() {
            each_alg_signs_and_verifies_on(sqlite_store().await).await;
        }
    }
}
