//! The first leg of a SAML sign-in: build the AuthnRequest for the org's IdP, remember it
//! (the request record under a single-use RelayState handle, and the flow's pending request),
//! and send the browser there (HTTP-Redirect when the IdP offers it, else an auto-POST page).
//!
//! Owns: the request record and the redirect/auto-POST response. Must not touch: message
//! validation (`upstream::saml`), the ACS.

use super::{RequestRecord, rejected, req_key, setup_page};
use crate::domain::{
    Connection, ConnectionConfig, ConnectionState, Email, random_token, to_millis,
};
use crate::login::LoginCtx;
use crate::login::error::LoginError;
use crate::login::flow::{self, Flow};
use crate::pages::PageError;
use crate::state::Put;
use crate::upstream::Pending;
use crate::upstream::saml::begin::BeginError;
use axum::http::HeaderMap;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Send the browser to the org's SAML IdP (DESIGN §2 step 3). `flow` was loaded for this
/// browser; `email` is what the user typed, or the app's `login_hint` when the app named the
/// org (`/authorize` then skips the email page).
pub async fn start(
    st: &LoginCtx,
    headers: &HeaderMap,
    mut flow: Flow,
    email: Option<Email>,
    conn: Connection,
) -> Result<Response, LoginError> {
    let ConnectionConfig::Saml(cfg) = &conn.config else {
        return Err(PageError::Server.into());
    };
    // A draft connection is reachable only by a test sign-in (`login::test_signin`).
    let test = flow.test.is_some();
    if !(conn.state == ConnectionState::Active || test && conn.state == ConnectionState::Draft) {
        return Err(PageError::SsoNotAvailable.into());
    }
    let relay = random_token();
    // SAML has no max_age: any max_age asks for a fresh authentication (ForceAuthn), whose
    // AuthnInstant `identity::sign_in` then checks.
    let force_authn = flow.prompt.login || flow.max_age.is_some();
    let started = match st
        .saml
        .begin(&st.config, &conn, cfg, &relay, force_authn, st.clock.now())
        .await
    {
        Ok(s) => s,
        Err(BeginError::Setup(e)) => {
            tracing::warn!(connection = %conn.id, error = %e, "SAML connection unusable");
            return Err(rejected(
                Some(&conn),
                conn.id.as_str(),
                e.code(),
                setup_page(&e),
            ));
        }
        Err(BeginError::NoMetadata | BeginError::NoSsoEndpoint) => {
            return Err(PageError::SsoNotAvailable.into());
        }
        Err(BeginError::Internal(e)) => {
            tracing::error!(connection = %conn.id, error = %e, "cannot build the AuthnRequest");
            return Err(PageError::Server.into());
        }
    };
    let rec = RequestRecord {
        request_id: started.request_id.clone(),
        connection_id: conn.id.clone(),
        org_id: conn.org_id.clone(),
        flow_id: flow.id.clone(),
        binding: flow.binding.clone(),
        test,
    };
    let ttl_ms = flow.expires_at - to_millis(st.clock.now());
    if ttl_ms <= 0 {
        return Err(PageError::FlowExpired.into());
    }
    let bytes = serde_json::to_vec(&rec).map_err(|_| PageError::Server)?;
    flow.email = email;
    flow.target_org = Some(conn.org_id.clone());
    // The request id is also kept in the flow: `continue` checks both agree.
    flow.upstream = Some(flow::UpstreamPending {
        connection_id: conn.id.clone(),
        state_hash: hex::encode(Sha256::digest(relay.as_bytes())),
        pending: Pending::Saml {
            request_id: started.request_id,
        },
        sent_at: to_millis(st.clock.now()),
    });
    // The flow and the request record, in one step of the state store.
    let rkey = req_key(&relay);
    flow::save_with(
        st,
        &flow,
        &[Put {
            key: &rkey,
            value: &bytes,
            ttl: Duration::from_millis(ttl_ms as u64),
            evictable: false,
        }],
    )
    .await?;
    Ok(crate::login::upstream::send(
        headers,
        started.begin,
        flow.ui_lang(),
    ))
}
