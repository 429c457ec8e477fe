//! The OIDC relying party itself: the authorization URL (with PKCE), the code exchange at the
//! token endpoint (client secret opened here, just before the request), ID token validation
//! with the cached keys, and userinfo when the ID token lacks a mapped claim.
//!
//! Owns: [`OidcConnector`] and the requests of a sign-in. Must not touch: the rules an ID token
//! must pass (`id_token`), the metadata/JWKS cache (`cache`), flows, sessions, pages.

use super::cache::{CachePolicy, Entries};
use super::id_token::{precheck, recheck_claims, verify_signature};
use super::{Discovered, OidcError};
use crate::domain::{Clock, ConnectionId, OidcConfig, Secret, TokenEndpointAuthMethod};
use crate::keys::seal::SealKey;
use crate::upstream::http::{FetchError, GuardedHttp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// The OIDC relying party for every upstream connection, with its metadata/JWKS cache.
pub struct OidcConnector {
    pub(super) http: Arc<GuardedHttp>,
    seal: Arc<SealKey>,
    clock: Arc<dyn Clock>,
    pub(super) policy: CachePolicy,
    pub(super) cache: Mutex<Entries>,
}

impl std::fmt::Debug for OidcConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConnector")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The result of a successful code exchange and validation.
#[derive(Debug)]
pub struct Validated {
    /// `iss` (the configured issuer).
    pub issuer: String,
    pub subject: String,
    /// ID token claims, completed by userinfo where they were missing.
    pub claims: Map<String, Value>,
    /// The ID token's own `auth_time` (OIDC Core §2; never taken from userinfo).
    pub auth_time: Option<i64>,
}

/// What the authorization request needs.
pub struct AuthRequest<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_challenge: &'a str,
    pub login_hint: Option<&'a str>,
    /// Ask the IdP for a fresh login (the app sent `prompt=login` or `max_age=0`).
    pub force_login: bool,
    pub max_age: Option<i64>,
}

/// BASE64URL(SHA-256(verifier)) (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl OidcConnector {
    pub fn new(
        http: Arc<GuardedHttp>,
        seal: Arc<SealKey>,
        clock: Arc<dyn Clock>,
        policy: CachePolicy,
    ) -> Self {
        Self {
            http,
            seal,
            clock,
            policy,
            cache: Mutex::new(Entries::new()),
        }
    }

    pub fn http(&self) -> &GuardedHttp {
        &self.http
    }

    /// The URL the browser is sent to (OIDC Core §3.1.2.1) with PKCE S256 (RFC 7636).
    pub fn authorization_url(
        &self,
        disc: &Discovered,
        cfg: &OidcConfig,
        req: &AuthRequest<'_>,
    ) -> url::Url {
        let mut u = disc.authorization_endpoint.clone();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &cfg.client_id);
            q.append_pair("redirect_uri", req.redirect_uri);
            q.append_pair("scope", &cfg.scopes.join(" "));
            q.append_pair("state", req.state);
            q.append_pair("nonce", req.nonce);
            q.append_pair("code_challenge", req.pkce_challenge);
            q.append_pair("code_challenge_method", "S256");
            if let Some(h) = req.login_hint {
                q.append_pair("login_hint", h);
            }
            if req.force_login {
                q.append_pair("prompt", "login");
            } else if let Some(m) = req.max_age {
                q.append_pair("max_age", &m.to_string());
            }
        }
        u
    }

    pub(super) fn client_secret(&self, cfg: &OidcConfig) -> Result<Secret, OidcError> {
        let sealed = cfg.client_secret.as_ref().ok_or(OidcError::ClientSecret)?;
        let plain = self
            .seal
            .open(sealed.expose())
            .map_err(|_| OidcError::ClientSecret)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| OidcError::ClientSecret)
    }

    /// Exchange the code (RFC 6749 §4.1.3 with PKCE), validate the ID token, and fetch
    /// userinfo when claims are missing.
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Validated, OidcError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pkce_verifier),
        ];
        let secret;
        let mut rb = self
            .http
            .client()
            .post(disc.token_endpoint.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        match cfg.token_endpoint_auth_method {
            TokenEndpointAuthMethod::ClientSecretBasic => {
                secret = self.client_secret(cfg)?;
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let creds = format!("{}:{}", enc(&cfg.client_id), enc(secret.expose()));
                rb = rb.header(
                    reqwest::header::AUTHORIZATION,
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(creds)
                    ),
                );
            }
            TokenEndpointAuthMethod::ClientSecretPost => {
                secret = self.client_secret(cfg)?;
                form.push(("client_id", &cfg.client_id));
                form.push(("client_secret", secret.expose()));
            }
            TokenEndpointAuthMethod::None => {
                form.push(("client_id", &cfg.client_id));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let req = rb
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .build()
            .map_err(|_| OidcError::TokenFetch(FetchError::BadUrl))?;
        let r = self
            .http
            .send(id.as_str(), req)
            .await
            .map_err(OidcError::TokenFetch)?;
        let json: Option<Map<String, Value>> = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.as_object().cloned());
        if !(200..300).contains(&r.status) {
            // RFC 6749 §5.2.
            let error = json
                .as_ref()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str)
                .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_graphic()))
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", r.status));
            return Err(OidcError::TokenError { error });
        }
        let json = json.ok_or(OidcError::TokenResponseInvalid("not a JSON object"))?;
        let id_token = json
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or(OidcError::TokenResponseInvalid("no id_token"))?;
        let access_token = json
            .get("access_token")
            .and_then(Value::as_str)
            .map(Secret::new);
        let token_type_ok = json
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
        let mut v = self
            .validate_id_token(id, cfg, disc, id_token, nonce)
            .await?;
        if self.needs_userinfo(cfg, &v.claims)
            && let (Some(endpoint), Some(at)) = (&disc.userinfo_endpoint, &access_token)
            && token_type_ok
        {
            let ui = self.userinfo(id, endpoint, at).await?;
            match ui.get("sub").and_then(Value::as_str) {
                // OIDC Core §5.3.2: the sub must be exactly the ID token's.
                Some(s) if s == v.subject => {}
                Some(_) => return Err(OidcError::UserinfoSubMismatch),
                None => return Err(OidcError::UserinfoInvalid("no sub")),
            }
            merge_userinfo(&mut v.claims, ui, &cfg.claims.email);
        }
        Ok(v)
    }

    fn needs_userinfo(&self, cfg: &OidcConfig, claims: &Map<String, Value>) -> bool {
        let missing = |k: &str| claims.get(k).is_none_or(Value::is_null);
        missing(&cfg.claims.email)
            || missing(&cfg.claims.name)
            || cfg.claims.groups.as_deref().is_some_and(missing)
    }

    async fn userinfo(
        &self,
        id: &ConnectionId,
        endpoint: &url::Url,
        access_token: &Secret,
    ) -> Result<Map<String, Value>, OidcError> {
        let req = self
            .http
            .client()
            .get(endpoint.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .bearer_auth(access_token.expose())
            .build()
            .map_err(|_| OidcError::UserinfoFetch(FetchError::BadUrl))?;
        let r = self
            .http
            .send(id.as_str(), req)
            .await
            .map_err(OidcError::UserinfoFetch)?;
        if !(200..300).contains(&r.status) {
            return Err(OidcError::UserinfoFetch(FetchError::Status(r.status)));
        }
        serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .ok_or(OidcError::UserinfoInvalid(
                "not a JSON object (signed userinfo is not supported)",
            ))
    }

    /// Validate an ID token of this connection (see the module docs).
    pub async fn validate_id_token(
        self: &Arc<Self>,
        id: &ConnectionId,
        cfg: &OidcConfig,
        disc: &Discovered,
        token: &str,
        nonce: &str,
    ) -> Result<Validated, OidcError> {
        if token.len() > 64 * 1024 {
            return Err(OidcError::id_token("id_token_malformed", "token too large"));
        }
        let now = self.clock.now().unix_timestamp();
        let pre = precheck(token, cfg, &disc.issuer, nonce, now)?;
        // The signature: aws-lc with the keys parsed once per JWKS fetch (`jwks`), about ten
        // times cheaper for RSA than openidconnect's `rsa` backend.
        let keys = self.jwks(id, cfg, disc).await?;
        match verify_signature(token, &pre.header, &keys) {
            Err(OidcError::IdToken {
                reason: "unknown_kid",
                ..
            }) => {
                // Key rollover at the IdP: look once more (rate-limited).
                let Some(fresh) = self.refetch_jwks_for_kid(id, cfg, disc).await? else {
                    return Err(OidcError::id_token(
                        "unknown_kid",
                        "no key for this kid; the JWKS was fetched again recently",
                    ));
                };
                verify_signature(token, &pre.header, &fresh)?;
            }
            other => other?,
        }
        recheck_claims(token, cfg, disc, nonce, now)?;
        Ok(Validated {
            issuer: disc.issuer.clone(),
            subject: pre.subject,
            auth_time: pre.claims.get("auth_time").and_then(Value::as_i64),
            claims: pre.claims,
        })
    }
}

/// A random nonce, state or PKCE verifier: 256 bits, base64url (43 characters, RFC 7636 §4.1).
pub fn random_value() -> String {
    crate::domain::random_token()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}

/// Fill the ID token's missing claims from userinfo (OIDC Core §5.3.2, the `sub` already
/// matched). Claims that belong together come from one source: the email claim (as mapped by the
/// connection) and `email_verified` are both taken from the ID token when it carries the email,
/// else both from userinfo — an ID token's `email_verified: true` is never paired with an email
/// it did not contain. Every other claim is only added where the ID token has none.
pub(crate) fn merge_userinfo(
    claims: &mut Map<String, Value>,
    ui: Map<String, Value>,
    email_claim: &str,
) {
    let has = |m: &Map<String, Value>, k: &str| m.get(k).is_some_and(|v| !v.is_null());
    let email_from_userinfo = !has(claims, email_claim) && has(&ui, email_claim);
    if email_from_userinfo {
        claims.remove("email_verified");
    }
    for (k, val) in ui {
        if k == email_claim || k == "email_verified" {
            // Taken as a pair from userinfo, or not at all (the ID token's email and its flag,
            // present or not, stand).
            if email_from_userinfo {
                claims.insert(k, val);
            }
            continue;
        }
        claims.entry(k).or_insert(val);
    }
}

#[cfg(test)]
mod merge_tests {
    use super::merge_userinfo;
    use serde_json::{Map, Value, json};

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn email_and_its_flag_come_from_one_source() {
        // (ID token, userinfo, expected email, expected email_verified)
        let table = [
            // The ID token vouches, but carries no email: userinfo's email with userinfo's flag.
            (
                json!({"email_verified": true}),
                json!({"email": "x@a.test", "email_verified": false}),
                Some("x@a.test"),
                Some(false),
            ),
            (
                json!({"email_verified": true}),
                json!({"email": "x@a.test"}),
                Some("x@a.test"),
                None,
            ),
            (
                json!({"email_verified": true, "email": null}),
                json!({"email": "x@a.test"}),
                Some("x@a.test"),
                None,
            ),
            // The ID token has the email: it and its flag (or its missing flag) stand.
            (
                json!({"email": "a@a.test", "email_verified": true}),
                json!({"email": "b@b.test", "email_verified": false}),
                Some("a@a.test"),
                Some(true),
            ),
            (
                json!({"email": "a@a.test"}),
                json!({"email_verified": true}),
                Some("a@a.test"),
                None,
            ),
            // Only userinfo knows.
            (
                json!({}),
                json!({"email": "x@a.test", "email_verified": true}),
                Some("x@a.test"),
                Some(true),
            ),
            // Nobody sends an email: the ID token's flag is kept as it was.
            (
                json!({"email_verified": true}),
                json!({"name": "X"}),
                None,
                Some(true),
            ),
        ];
        for (i, (id, ui, email, verified)) in table.into_iter().enumerate() {
            let mut claims = obj(id);
            merge_userinfo(&mut claims, obj(ui), "email");
            assert_eq!(
                claims.get("email").and_then(Value::as_str),
                email,
                "row {i}"
            );
            assert_eq!(
                claims.get("email_verified").and_then(Value::as_bool),
                verified,
                "row {i}"
            );
        }
    }

    #[test]
    fn other_claims_only_fill_gaps_and_a_mapped_email_claim_is_paired() {
        let mut claims = obj(json!({"name": "From ID token", "email_verified": true}));
        merge_userinfo(
            &mut claims,
            obj(
                json!({"name": "From userinfo", "given_name": "G", "upn": "u@a.test", "email_verified": false}),
            ),
            "upn",
        );
        assert_eq!(claims["name"], "From ID token");
        assert_eq!(claims["given_name"], "G");
        assert_eq!(claims["upn"], "u@a.test");
        assert_eq!(claims["email_verified"], false);
    }
}
