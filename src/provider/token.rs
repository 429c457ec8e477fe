//! `/token` (RFC 6749 §3.2): the `authorization_code` and `refresh_token` grants, client
//! authentication (shared with `/revoke` and `/introspect`), and token issuance. The
//! `client_credentials` grant and the admin API's access tokens are in `admin_tokens`.
//!
//! Client authentication (RFC 6749 §2.3): `client_secret_basic` (the id and secret are
//! form-urlencoded inside Basic, §2.3.1), `client_secret_post`, or — for public clients only —
//! `none` (just `client_id`; PKCE protects the code). More than one method in a request is
//! refused. Secrets are compared as SHA-256 hashes in constant time (`TokenHash::verify`).
//!
//! Codes (RFC 6749 §4.1.3, §10.5; RFC 7636 §4.6; DESIGN §6.5): a redemption first claims the
//! code with `put_if_absent` of `code-used:<sha256>` (for 10 minutes), recording the refresh
//! family and access-token id it is about to issue, then takes the code from the state store
//! atomically, so a code redeems once (`StateStore::claim_and_take`: both in one step, one
//! round trip on Redis; only the claimer takes). Every other redemption finds the claim,
//! revokes that family and deny-lists that access token (RFC 6749 §4.1.2: "SHOULD revoke all tokens
//! previously issued based on that authorization code"); claiming before taking leaves no
//! moment in which a replay could miss the record. A replay racing the first redemption leaves
//! `code-replayed:<sha256>`, which the first redemption checks after storing its family.
//! Client, redirect_uri, expiry (60 s) and the S256 verifier are checked after the take, so a
//! failed attempt burns the code. A state store that fails fails the request (no tokens).
//! The refresh family is stored in the same round trip to the database that reads the member
//! (`create_family_in_context`); a member found no longer eligible gets no tokens and the
//! family just stored is revoked.
//!
//! Refresh tokens: 256-bit opaque values, stored as hashes in families (`storage::RefreshStore`),
//! rotated on every use; a refresh without `scope`, `organization` or `resource` rotates and
//! reads the token's context in one round trip (`rotate_refresh_in_context`), and only a token
//! that did not rotate takes the step-by-step path, which tells why. Reuse of a rotated token within `REUSE_GRACE_SECS` (two tabs refreshing
//! at once) is refused without consequence; later reuse revokes the family. Every refresh
//! reloads membership, org, link and connection (`claims::load_subject`): not eligible any more
//! → the family is revoked and the grant fails.
//!
//! With `organization` the refresh grant switches org instead (`org_switch`): a new family
//! for that org, the presented token and its family left as they are.
//!
//! Access tokens are JWTs (`typ: at+jwt`, RFC 9068); `/revoke` deny-lists their `jti` in the
//! state store until `exp` (`deny:<jti>`), checked by `/userinfo` and `/introspect`.
//!
//! The refresh grant itself is in `refresh` (`token/refresh.rs`).
//!
//! Owns: the token endpoint and the code/refresh bookkeeping. Must not touch: the login flow,
//! key management (it only signs through `KeyRing`).

mod refresh;

use super::admin_tokens;
use super::claims::{self, Issue, Subject};
use crate::domain::admin_token::SCOPE_ADMIN;
use crate::domain::{
    App, ClientId, ClientType, RefreshFamilyId, SigningAlg, TokenHash, UserId, random_token,
    to_millis,
};
use crate::domain::{CodeRecord, Grant, code_key};
use crate::http::params::{Params, is_form};
use crate::http::redirect::ErrorCode;
use crate::keys::{KeyRing, VerifyOptions};
use crate::provider::ProviderCtx;
use crate::provider::error::OAuthError;
use crate::storage::RefreshFamily;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};
use std::time::Duration;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// A rotated refresh token presented again within this many seconds is refused without
/// revoking its family (a concurrent refresh from two tabs, not theft).
pub const REUSE_GRACE_SECS: i64 = 10;
/// How long a redeemed code is remembered for replay detection.
const CODE_USED_TTL: Duration = Duration::from_secs(600);
/// Every algorithm Lobby signs with (for verifying its own tokens).
pub const ALL_ALGS: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

/// What a redeemed code issued, for revocation on replay.
#[derive(Serialize, Deserialize)]
struct CodeUsed {
    family_id: RefreshFamilyId,
    jti: String,
    /// Unix seconds: the access token's `exp`.
    exp: i64,
}

/// `POST /token`.
pub async fn token(State(st): State<ProviderCtx>, headers: HeaderMap, body: Bytes) -> Response {
    let mut seen = Seen::default();
    let r = handle(&st, &headers, &body, &mut seen).await;
    let outcome = match &r {
        Ok(_) => "success",
        Err(e) => e.code.as_str(),
    };
    crate::ops::metrics::token_grant(seen.grant_type, seen.client_id.as_deref(), outcome);
    match r {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

/// What a `/token` request turned out to be, for its metric: the grant type (one of the
/// supported ones, else `other`) and the client, once it authenticated.
struct Seen {
    grant_type: &'static str,
    client_id: Option<String>,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            grant_type: "other",
            client_id: None,
        }
    }
}

pub(crate) fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

async fn handle(
    st: &ProviderCtx,
    headers: &HeaderMap,
    body: &Bytes,
    seen: &mut Seen,
) -> Result<Value, OAuthError> {
    // RFC 6749 §3.2: parameters are sent form-encoded in the body.
    if !is_form(headers) {
        return Err(OAuthError::invalid_request(
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let p = Params::parse(body);
    if p.first_repeated(&[
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
        "client_id",
        "client_secret",
        "organization",
    ])
    .is_some()
    {
        return Err(OAuthError::invalid_request(
            "A parameter was sent more than once.",
        ));
    }
    seen.grant_type = match p.get("grant_type").ok().flatten() {
        Some("authorization_code") => "authorization_code",
        Some("refresh_token") => "refresh_token",
        Some("client_credentials") => "client_credentials",
        _ => "other",
    };
    let app = authenticate_client(st, headers, &p).await?;
    seen.client_id = Some(app.client_id.as_str().to_owned());
    match p.get("grant_type").ok().flatten() {
        Some("authorization_code") => code_grant(st, &app, &p).await,
        Some("refresh_token") => refresh::refresh_grant(st, &app, &p).await,
        // RFC 6749 §4.4: only for Lobby's admin API (`admin_tokens`).
        Some("client_credentials") => admin_tokens::client_credentials(st, &app, &p, headers).await,
        None => Err(OAuthError::invalid_request("grant_type is required.")),
        // DESIGN §6.5: no password (RFC 9700 §2.4) or implicit grants; no others either.
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "Only the authorization_code, refresh_token and client_credentials grants are supported.",
        )),
    }
}

/// RFC 6749 §2.3.1: the Basic credentials are the form-urlencoded id and secret.
/// (`pub` for the fuzz targets only.)
#[doc(hidden)]
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| OAuthError::invalid_client())?;
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| OAuthError::invalid_client())?;
    let raw = String::from_utf8(raw).map_err(|_| OAuthError::invalid_client())?;
    let (id, secret) = raw.split_once(':').ok_or_else(OAuthError::invalid_client)?;
    let dec = |s: &str| String::from_utf8(form_decode(s)).map_err(|_| OAuthError::invalid_client());
    Ok(Some((dec(id)?, dec(secret)?)))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte;
/// a malformed escape is kept literally.
fn form_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Authenticate the client of a back-channel request (RFC 6749 §2.3, §3.2.1).
pub(crate) async fn authenticate_client(
    st: &ProviderCtx,
    headers: &HeaderMap,
    p: &Params,
) -> Result<App, OAuthError> {
    let basic = basic_credentials(headers)?;
    let post_id = p.get("client_id").ok().flatten();
    let post_secret = p.get("client_secret").ok().flatten();
    let (id, secret): (String, Option<String>) = match (basic, post_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "Use only one client authentication method.",
            ));
        }
        (Some((id, secret)), None) => {
            if post_id.is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client.",
                ));
            }
            (id, Some(secret))
        }
        (None, Some(secret)) => match post_id {
            Some(id) => (id.to_owned(), Some(secret.to_owned())),
            None => return Err(OAuthError::invalid_client()),
        },
        (None, None) => match post_id {
            Some(id) => (id.to_owned(), None),
            None => return Err(OAuthError::invalid_client()),
        },
    };
    let client_id = ClientId::parse(&id).map_err(|_| OAuthError::invalid_client())?;
    let app = st
        .storage
        .get_app_by_client_id(&client_id)
        .await?
        .ok_or_else(OAuthError::invalid_client)?;
    match (app.client_type, &app.client_secret_hash, secret) {
        (ClientType::Confidential, Some(hash), Some(s)) if hash.verify(&s) => Ok(app),
        (ClientType::Public, _, None) => Ok(app),
        _ => Err(OAuthError::invalid_client()),
    }
}

/// RFC 7636 §4.1: 43-128 unreserved characters.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in constant time.
pub fn pkce_s256_ok(verifier: &str, challenge: &str) -> bool {
    if !valid_verifier(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

fn used_key(code: &str) -> String {
    format!("code-used:{}", &code_key(code)["code:".len()..])
}
fn replayed_key(code: &str) -> String {
    format!("code-replayed:{}", &code_key(code)["code:".len()..])
}

const BAD_CODE: &str = "The authorization code is invalid, expired, or was already used.";

async fn code_grant(st: &ProviderCtx, app: &App, p: &Params) -> Result<Value, OAuthError> {
    let g = |n: &str| p.get(n).ok().flatten();
    let code = g("code").ok_or(OAuthError::invalid_request("code is required."))?;
    let redirect_uri =
        g("redirect_uri").ok_or(OAuthError::invalid_request("redirect_uri is required."))?;
    let verifier = g("code_verifier").ok_or(OAuthError::invalid_request(
        "code_verifier is required (PKCE).",
    ))?;
    if code.len() > 256 {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    let now = st.clock.now();
    let family_id = RefreshFamilyId::generate();
    let jti = random_token();
    let access_exp = now.unix_timestamp() + app.token_lifetimes.access_token_secs;
    let used = CodeUsed {
        family_id: family_id.clone(),
        jti: jti.clone(),
        exp: access_exp,
    };
    let rec = claim_code(st, &app.client_id, code, redirect_uri, verifier, &used).await?;
    // `lobby:admin` only while the app has delegated admin access; RFC 8707 `resource`.
    let grant = Grant {
        scope: admin_tokens::token_scope(
            app,
            rec.grant.scope.clone(),
            false,
            p,
            &st.config.issuer(),
        )?,
        ..rec.grant.clone()
    };
    let refresh = random_token();
    let family = RefreshFamily {
        id: family_id.clone(),
        app_id: app.id.clone(),
        user_id: rec.grant.user_id.clone(),
        org_id: rec.grant.org_id.clone(),
        session_id: rec.grant.sid.to_string(),
        auth_time: OffsetDateTime::from_unix_timestamp(rec.grant.auth_time).unwrap_or(now),
        amr: rec.grant.amr.clone(),
        scope: grant.scope.clone(),
        idp: rec.grant.idp.clone(),
        created_at: crate::domain::trunc_millis(now),
        expires_at: crate::domain::trunc_millis(
            now + time::Duration::seconds(app.token_lifetimes.refresh_token_secs),
        ),
        revoked_at: None,
    };
    // The family and the member it is for, in one round trip to the database: the claims come
    // from the current membership (DESIGN §3); a member no longer eligible gets nothing, and
    // the family just stored is revoked (nobody holds its token). A user, org or app deleted
    // since the sign-in leaves no family to store.
    let (stored, member) = match st
        .storage
        .create_family_in_context(&family, &TokenHash::of(&refresh))
        .await
    {
        Ok(m) => (true, m),
        Err(crate::storage::StorageError::MissingReference(_)) => (false, None),
        Err(e) => return Err(e.into()),
    };
    let subject = match claims::subject_for(
        st.storage.as_ref(),
        app,
        member,
        rec.grant.idp.as_ref(),
    )
    .await?
    {
        Ok(s) => s,
        Err(why) => {
            tracing::info!(?why, "code exchange refused: no longer eligible");
            if stored {
                st.storage.revoke_family(&family_id, now).await?;
            }
            return Err(OAuthError::invalid_grant(
                "The user no longer has access to this application in this organization.",
            ));
        }
    };
    // A replay that raced this redemption: revoke what was just issued.
    if st.ephemeral.get(&replayed_key(code)).await?.is_some() {
        st.storage.revoke_family(&family_id, now).await?;
        crate::ops::metrics::families_revoked("code_replay", 1);
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    issue(
        st,
        app,
        &subject,
        &grant,
        rec.nonce.as_deref(),
        &jti,
        &refresh,
    )
}

/// Claim, take and check a code (one use; client, expiry, redirect_uri, PKCE S256): the checks
/// every redemption makes, whether at `/token` or in-process ([`redeem_in_process`]).
async fn claim_code(
    st: &ProviderCtx,
    client_id: &ClientId,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    used: &CodeUsed,
) -> Result<CodeRecord, OAuthError> {
    let now = st.clock.now();
    let used_bytes = serde_json::to_vec(used).map_err(|_| OAuthError::server_error())?;
    // Claim the code before taking it: of any number of concurrent redemptions exactly one
    // stores what it is about to issue; every other one is a replay and finds that record at
    // once (no window between the take and the record), so it can revoke what the claim issues.
    // The claim and the take are one step of the state store (one round trip on Redis).
    let claim = crate::state::Put {
        key: &used_key(code),
        value: &used_bytes,
        ttl: CODE_USED_TTL,
        evictable: false,
    };
    let (claimed, taken) = st.ephemeral.claim_and_take(claim, &code_key(code)).await?;
    if !claimed {
        replay(st, code).await?;
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    let Some(bytes) = taken else {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    };
    let rec: CodeRecord =
        serde_json::from_slice(&bytes).map_err(|_| OAuthError::invalid_grant(BAD_CODE))?;

    // RFC 6749 §4.1.3: the code was issued to this client, for this redirect_uri.
    if &rec.client_id != client_id {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    if to_millis(now) >= rec.expires_at {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    if rec.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request.",
        ));
    }
    // RFC 7636 §4.6.
    if !pkce_s256_ok(verifier, &rec.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "The code_verifier does not match the code_challenge.",
        ));
    }
    Ok(rec)
}

/// Redeem a code issued to one of Lobby's own first-party clients (the portal,
/// `login::builtin`) inside the process: the same checks as `/token` (one use, client, expiry,
/// redirect_uri, PKCE S256); no token is issued — the caller gets the grant (user, org,
/// authentication) and starts its own session.
pub async fn redeem_in_process(
    st: &ProviderCtx,
    client_id: &ClientId,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Grant, OAuthError> {
    if code.len() > 256 {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    // Nothing is issued, so a replay has nothing to revoke: an id no family has, an expired jti.
    let used = CodeUsed {
        family_id: RefreshFamilyId::generate(),
        jti: random_token(),
        exp: st.clock.now().unix_timestamp(),
    };
    Ok(
        claim_code(st, client_id, code, redirect_uri, verifier, &used)
            .await?
            .grant,
    )
}

/// A code that is not (or no longer) in the store: if it was redeemed, revoke what it issued.
async fn replay(st: &ProviderCtx, code: &str) -> Result<(), OAuthError> {
    let Some(bytes) = st.ephemeral.get(&used_key(code)).await? else {
        return Ok(());
    };
    st.ephemeral
        .put(&replayed_key(code), b"1", CODE_USED_TTL)
        .await?;
    let Ok(used) = serde_json::from_slice::<CodeUsed>(&bytes) else {
        return Ok(());
    };
    let now = st.clock.now();
    match st.storage.revoke_family(&used.family_id, now).await {
        Ok(()) => crate::ops::metrics::families_revoked("code_replay", 1),
        Err(crate::storage::StorageError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    deny(st, &used.jti, used.exp).await?;
    tracing::warn!(family = %used.family_id, "authorization code replayed: its tokens are revoked");
    Ok(())
}

/// Deny-list an access token id until its expiry.
pub(crate) async fn deny(st: &ProviderCtx, jti: &str, exp: i64) -> Result<(), OAuthError> {
    let left = exp - st.clock.now().unix_timestamp();
    if left > 0 {
        st.ephemeral
            .put(
                &crate::domain::deny_key(jti),
                b"1",
                Duration::from_secs(left as u64 + 1),
            )
            .await?;
    }
    Ok(())
}

/// OIDC Core §3.1.3.6 `at_hash`: left half of the hash of the access token, with the hash of
/// the ID token's algorithm (SHA-256 for RS256/ES256, SHA-512 for EdDSA with Ed25519).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    match alg {
        SigningAlg::EdDSA => {
            let d = Sha512::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d[..32])
        }
        _ => {
            let d = Sha256::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d[..16])
        }
    }
}

pub(crate) fn sign(
    keys: &KeyRing,
    claims: &Value,
    alg: SigningAlg,
    typ: &str,
) -> Result<String, OAuthError> {
    keys.sign_typed(claims, alg, typ).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        OAuthError::server_error()
    })
}

/// Sign the access and ID tokens and build the token response (RFC 6749 §5.1, OIDC Core
/// §3.1.3.3).
pub(super) fn issue(
    st: &ProviderCtx,
    app: &App,
    subject: &Subject,
    grant: &Grant,
    nonce: Option<&str>,
    jti: &str,
    refresh: &str,
) -> Result<Value, OAuthError> {
    let issuer = st.config.issuer();
    let now = st.clock.now().unix_timestamp();
    let at = Issue {
        issuer: &issuer,
        now,
        nonce: None,
        at_hash: None,
        jti,
    };
    // With `lobby:admin` granted, the access token is the admin API's (`admin_tokens`).
    let access_claims = if admin_tokens::has_scope(&grant.scope, SCOPE_ADMIN) {
        admin_tokens::delegated_claims(&issuer, app, subject, grant, now, jti)
    } else {
        claims::access_token_claims(app, subject, grant, &at)
    };
    let access = sign(&st.keys, &access_claims, app.signing_alg, "at+jwt")?;
    let hash = at_hash(&access, app.signing_alg);
    let id_jti = random_token();
    let it = Issue {
        issuer: &issuer,
        now,
        nonce,
        at_hash: Some(&hash),
        jti: &id_jti,
    };
    let id_token = sign(
        &st.keys,
        &claims::id_token_claims(app, subject, grant, &it),
        app.signing_alg,
        "JWT",
    )?;
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": app.token_lifetimes.access_token_secs,
        "id_token": id_token,
        "refresh_token": refresh,
        "scope": grant.scope,
    }))
}

/// A valid access token issued by Lobby: signature, `typ: at+jwt`, issuer, expiry, and not
/// deny-listed. Returns its claims.
pub(crate) async fn verify_access_token(
    st: &ProviderCtx,
    token: &str,
) -> Result<Option<Value>, OAuthError> {
    if token.len() > 16 * 1024 {
        return Ok(None);
    }
    let issuer = st.config.issuer();
    let opts = VerifyOptions {
        issuer: Some(&issuer),
        audience: None,
        typ: Some("at+jwt"),
        leeway_secs: 0,
    };
    let Ok(claims) = st.keys.verify(token, &ALL_ALGS, &opts) else {
        return Ok(None);
    };
    let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
        return Ok(None);
    };
    if st
        .ephemeral
        .get(&crate::domain::deny_key(jti))
        .await?
        .is_some()
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// The user id in a token's `sub`.
pub(crate) fn sub_of(claims: &Value) -> Option<UserId> {
    claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| UserId::parse(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_s256_ok(verifier, challenge));
        assert!(!pkce_s256_ok(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            challenge
        ));
        // `plain` would compare the verifier itself: never accepted.
        assert!(!pkce_s256_ok(challenge, challenge));
        assert!(!pkce_s256_ok("short", challenge));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let enc = STANDARD.encode("my%20client:s%3Acret+x");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {enc}").parse().unwrap(),
        );
        let (id, secret) = basic_credentials(&h).unwrap().unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret, "s:cret x");
        h.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert!(basic_credentials(&h).is_err());
        h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(basic_credentials(&h).unwrap().is_none());
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a%26b%3D+c"), b"a&b= c");
        assert_eq!(form_decode("100%"), b"100%");
        assert_eq!(form_decode("%zz%4"), b"%zz%4");
        assert_eq!(form_decode("%41"), b"A");
    }

    #[test]
    fn at_hash_lengths() {
        assert_eq!(at_hash("x", SigningAlg::RS256).len(), 22);
        assert_eq!(at_hash("x", SigningAlg::EdDSA).len(), 43);
    }
}
