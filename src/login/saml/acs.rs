//! `POST /sso/saml/{connection_id}/acs` (HTTP-POST binding) and `GET …/acs` (the forbidden
//! HTTP-Redirect binding, refused with its reason): validate the response
//! (`upstream::saml::validate`), record the assertion in the replay cache, match it to this
//! browser's request record, and park the identity for `continue`.
//!
//! Owns: the ACS checks that need the state store. Must not touch: XML validation details,
//! account linking.

use super::{
    DONE_TTL, DoneRecord, MAX_ACS_BODY, RequestRecord, callback_connection, done_key, rejected,
    replay_key, req_key, setup_page,
};
use crate::domain::{Connection, ConnectionConfig, ConnectionState, random_token};
use crate::http::params::{Params, cookie};
use crate::http::redirect::see_other;
use crate::login::LoginCtx;
use crate::login::error::{LoginError, respond};
use crate::login::flow::{self};
use crate::pages::PageError;
use crate::upstream::saml::sp_urls;
use crate::upstream::saml::validate::{self, Expect, ValidatedAssertion};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `GET /sso/saml/{id}/acs`: a response over HTTP-Redirect. SAML profiles §4.1.2 forbids that
/// binding for responses; the message is inflated (capped, so a DEFLATE bomb stops at
/// `MAX_XML`) only to tell the two failures apart in the audit trail.
pub(super) async fn acs_redirect(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let conn = callback_connection(&st, &raw).await.ok().flatten();
    let p = Params::from_query(q.as_deref());
    let reason = match p.get("SAMLResponse") {
        Ok(Some(m)) => match validate::inflate_redirect(m) {
            Ok(_) => "redirect_binding",
            Err(e) => e.code(),
        },
        _ => "no_response",
    };
    rejected(conn.as_ref(), &raw, reason, PageError::BadRequest)
        .respond(&st, &headers)
        .await
}

/// `POST /sso/saml/{id}/acs` (HTTP-POST binding).
pub(super) async fn acs_post(
    State(st): State<LoginCtx>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Body,
) -> Response {
    let r = acs_check(&st, &headers, &raw, body).await;
    respond(&st, &headers, r).await
}

/// Validate the response (the checks that need no state store).
async fn acs_check(
    st: &LoginCtx,
    headers: &HeaderMap,
    raw: &str,
    body: Body,
) -> Result<Response, LoginError> {
    let conn = match callback_connection(st, raw).await {
        Ok(Some(c)) if matches!(c.state, ConnectionState::Active | ConnectionState::Draft) => c,
        Ok(other) => {
            return Err(rejected(
                other.as_ref(),
                raw,
                "unknown_connection",
                PageError::BadRequest,
            ));
        }
        Err(()) => return Err(PageError::Server.into()),
    };
    let c = Some(&conn);
    let body = axum::body::to_bytes(body, MAX_ACS_BODY)
        .await
        .map_err(|_| rejected(c, raw, "too_large", PageError::TooLarge))?;
    let form = Params::parse(&body);
    // A draft connection answers only a test sign-in's request (`login::test_signin`);
    // `acs_accept` checks the record again when it takes it.
    if conn.state != ConnectionState::Active
        && !test_request(st, &conn, form.get("RelayState").ok().flatten()).await
    {
        return Err(rejected(
            c,
            raw,
            "unknown_connection",
            PageError::BadRequest,
        ));
    }
    let (Ok(Some(encoded)), Ok(relay)) = (form.get("SAMLResponse"), form.get("RelayState")) else {
        return Err(rejected(c, raw, "no_response", PageError::BadRequest));
    };
    let encoded = encoded.to_owned();
    let relay = relay.map(str::to_owned);
    let r = acs_validate(st, headers, raw, &conn, encoded, relay.as_deref()).await;
    // A test sign-in's answer that is refused goes back to the portal, which says why.
    match r {
        Err(e) => match crate::login::test_signin::saml_marker(st, &conn, relay.as_deref()).await {
            Some(m) => Ok(crate::login::test_signin::failed(st, headers, &m, e).await),
            None => Err(e),
        },
        ok => ok,
    }
}

/// Validate the response against the pinned metadata, then [`acs_accept`].
async fn acs_validate(
    st: &LoginCtx,
    headers: &HeaderMap,
    raw: &str,
    conn: &Connection,
    encoded: String,
    relay: Option<&str>,
) -> Result<Response, LoginError> {
    let c = Some(conn);
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return Err(PageError::Server.into());
    };
    let idp = st
        .saml
        .idp_state(conn)
        .await
        .map_err(|e| rejected(c, raw, e.code(), setup_page(&e)))?;
    let md = idp
        .metadata
        .clone()
        .ok_or_else(|| rejected(c, raw, "no_pinned_cert", PageError::SsoNotAvailable))?;
    let now = st.clock.now();
    let pinned = idp.pinned_der(now, cfg.accept_expired_certs);
    if pinned.is_empty() {
        // Every pinned certificate is past its notAfter (issue 13 item 13: refused unless the
        // connection accepts expired certificates).
        return Err(rejected(
            c,
            raw,
            "pinned_cert_expired",
            PageError::SsoNotAvailable,
        ));
    }
    let urls = sp_urls(&st.config, &conn.id);
    let want_signed = cfg.want_assertions_signed;
    let dsig = st.saml.dsig.clone();
    // libxml2/xmlsec are synchronous and CPU-bound: the blocking pool. samael's errors are not
    // Send; `validate` turns them into `Reject` inside the closure.
    let outcome = tokio::task::spawn_blocking(move || {
        let xml = validate::decode_post(&encoded)?;
        let expect = Expect {
            sp_entity_id: &urls.entity_id,
            acs_url: &urls.acs,
            idp_entity_id: &md.entity_id,
            pinned_certs: &pinned,
            want_assertions_signed: want_signed,
            now,
        };
        validate::validate(dsig.as_ref(), &xml, &expect)
    })
    .await;
    let assertion = match outcome {
        Ok(Ok(a)) => a,
        Ok(Err(r)) => return Err(rejected(c, raw, r.code(), PageError::Unknown)),
        Err(e) => {
            tracing::error!(error = %e, "SAML validation task failed");
            return Err(rejected(c, raw, "internal", PageError::Server));
        }
    };
    acs_accept(st, headers, conn, raw, relay, assertion).await
}

/// Whether `relay` names a pending test sign-in request on `conn` (read, not taken).
async fn test_request(st: &LoginCtx, conn: &Connection, relay: Option<&str>) -> bool {
    let Some(relay) = relay.filter(|r| flow::token_shaped(r)) else {
        return false;
    };
    match st.ephemeral.get(&req_key(relay)).await {
        Ok(Some(b)) => serde_json::from_slice::<RequestRecord>(&b)
            .is_ok_and(|r| r.test && r.connection_id == conn.id),
        _ => false,
    }
}

/// The checks that need the state store, then the hand-over to `continue`.
async fn acs_accept(
    st: &LoginCtx,
    headers: &HeaderMap,
    conn: &Connection,
    raw: &str,
    relay: Option<&str>,
    a: ValidatedAssertion,
) -> Result<Response, LoginError> {
    let c = Some(conn);
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return Err(PageError::Server.into());
    };
    if a.in_response_to.is_none() && !cfg.allow_idp_initiated {
        return Err(rejected(c, raw, "unsolicited", PageError::Unknown));
    }
    let store_down = |e: &dyn std::fmt::Display, what: &str| {
        tracing::error!(error = %e, what, "state store error in the SAML ACS");
        rejected(c, raw, "state_store", PageError::Unavailable)
    };
    // The replay cache (and OneTimeUse), in the database so that it survives a restart and is
    // shared by every instance (issue 13 item 14): fail closed when storage is down.
    let fresh = st
        .storage
        .mark_assertion_used(
            &replay_key(&conn.id, &a.issuer, &a.assertion_id),
            a.replay_until,
            st.clock.now(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storage error in the SAML replay cache");
            rejected(c, raw, "storage", PageError::Unavailable)
        })?;
    if !fresh {
        return Err(rejected(c, raw, "replay", PageError::Unknown));
    }
    let active = conn.state == ConnectionState::Active;
    let (flow_id, binding, relay_hash, test) = match &a.in_response_to {
        Some(irt) => {
            // SAML bindings §3.5.3: the IdP returns our RelayState unchanged.
            let unknown = || rejected(c, raw, "unknown_request", PageError::FlowExpired);
            let relay = relay
                .filter(|r| flow::token_shaped(r))
                .ok_or_else(unknown)?;
            let rec = st
                .ephemeral
                .take(&req_key(relay))
                .await
                .map_err(|e| store_down(&e, "taking the request"))?
                .and_then(|b| serde_json::from_slice::<RequestRecord>(&b).ok())
                .ok_or_else(unknown)?;
            if !bool::from(rec.request_id.as_bytes().ct_eq(irt.as_bytes())) {
                return Err(rejected(
                    c,
                    raw,
                    "in_response_to_mismatch",
                    PageError::Unknown,
                ));
            }
            if rec.connection_id != conn.id {
                return Err(rejected(c, raw, "other_connection", PageError::Unknown));
            }
            if !active && !rec.test {
                return Err(rejected(
                    c,
                    raw,
                    "unknown_connection",
                    PageError::BadRequest,
                ));
            }
            // When the flow cookie came along (https: SameSite=None), it must be this browser's.
            if let Some(cookie) =
                cookie(headers, flow::cookie_name(st)).filter(|v| flow::token_shaped(v))
            {
                let h = flow::binding_hash(cookie);
                if !bool::from(h.as_bytes().ct_eq(rec.binding.as_bytes())) {
                    return Err(rejected(c, raw, "wrong_browser", PageError::WrongBrowser));
                }
            }
            (
                Some(rec.flow_id),
                Some(rec.binding),
                Some(hex::encode(Sha256::digest(relay.as_bytes()))),
                rec.test,
            )
        }
        None if cfg.allow_idp_initiated && active => (None, None, None, false),
        None => return Err(rejected(c, raw, "unsolicited", PageError::Unknown)),
    };
    let done = DoneRecord {
        connection_id: conn.id.clone(),
        org_id: conn.org_id.clone(),
        flow_id,
        binding,
        request_id: a.in_response_to.clone(),
        relay_hash,
        issuer: a.issuer.clone(),
        name_id: a.name_id.clone(),
        name_id_format: a.name_id_format.clone(),
        attributes: a.attributes.clone(),
        assertion_id: a.assertion_id.clone(),
        amr: amr_of(a.authn_context.as_deref()),
        authn_instant: a.authn_instant.map(|t| t.unix_timestamp()),
        test,
    };
    let handle = random_token();
    let bytes = serde_json::to_vec(&done).map_err(|_| PageError::Server)?;
    st.ephemeral
        .put(&done_key(&handle), &bytes, DONE_TTL)
        .await
        .map_err(|e| store_down(&e, "parking the sign-in"))?;
    Ok(see_other(&format!(
        "/sso/saml/{}/continue?h={handle}",
        conn.id
    )))
}

/// RFC 8176 `amr` from the SAML authentication context class (SAML authn context §3.4).
fn amr_of(class: Option<&str>) -> Vec<String> {
    let v = match class {
        Some(c) if c.ends_with(":Password") || c.ends_with(":PasswordProtectedTransport") => "pwd",
        Some(c) if c.contains("MultiFactor") || c.to_ascii_lowercase().contains("mfa") => "mfa",
        _ => "ext",
    };
    vec![v.to_owned()]
}
