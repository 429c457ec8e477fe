//! `GET /sso/saml/{connection_id}/continue?h=…`: the browser-bound second half of the ACS (a
//! same-origin navigation, so the flow cookie comes along): take the parked identity and the
//! flow, check both belong to this browser and this request, then sign the person in
//! (`signin`).
//!
//! Owns: the hand-over from the ACS to `signin`. Must not touch: validation, linking.

use super::{DoneRecord, callback_connection, done_key, rejected};
use crate::domain::ConnectionState;
use crate::http::params::Params;
use crate::login::LoginCtx;
use crate::login::error::{LoginError, respond};
use crate::login::flow::{self, FlowError};
use crate::pages::PageError;
use crate::upstream::Pending;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use subtle::ConstantTimeEq;

/// `GET /sso/saml/{id}/continue?h=…`: the browser-bound second half of the ACS.
pub(super) async fn continue_login(
    State(st): State<LoginCtx>,
    sess: tower_sessions::Session,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::from_query(q.as_deref());
    let r = resume(&st, &sess, &headers, &raw, &p).await;
    respond(&st, &headers, r).await
}

async fn resume(
    st: &LoginCtx,
    sess: &tower_sessions::Session,
    headers: &HeaderMap,
    raw: &str,
    p: &Params,
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
    let unknown = || rejected(c, raw, "unknown_handle", PageError::FlowExpired);
    let store_down = |e: &dyn std::fmt::Display, what: &str| {
        tracing::error!(error = %e, what, "state store error in the SAML continue");
        rejected(c, raw, "state_store", PageError::Unavailable)
    };
    let handle = p
        .get("h")
        .ok()
        .flatten()
        .filter(|h| flow::token_shaped(h))
        .ok_or_else(unknown)?;
    let done = st
        .ephemeral
        .take(&done_key(handle))
        .await
        .map_err(|e| store_down(&e, "taking the SAML sign-in"))?
        .and_then(|b| serde_json::from_slice::<DoneRecord>(&b).ok())
        .filter(|d| d.connection_id == conn.id)
        .ok_or_else(unknown)?;
    // A draft connection finishes test sign-ins only (`login::test_signin`).
    if conn.state != ConnectionState::Active && !done.test {
        return Err(rejected(
            c,
            raw,
            "unknown_connection",
            PageError::BadRequest,
        ));
    }
    let flow = match &done.flow_id {
        Some(id) => match flow::take(st, id, headers).await {
            Ok(f) => Some(f),
            Err(FlowError::WrongBrowser) => {
                return Err(rejected(c, raw, "wrong_browser", PageError::WrongBrowser));
            }
            Err(FlowError::Missing) => {
                return Err(rejected(c, raw, "flow_expired", PageError::FlowExpired));
            }
            Err(FlowError::State(e)) => return Err(store_down(&e, "loading the flow")),
        },
        None => None,
    };
    // A test sign-in that fails from here goes back to the portal, which says why.
    let marker = flow.as_ref().and_then(|f| f.test.clone());
    let r = resume_flow(st, sess, headers, raw, conn, done, flow).await;
    match (r, marker) {
        (Err(e), Some(m)) => Ok(crate::login::test_signin::failed(st, headers, &m, e).await),
        (r, _) => r,
    }
}

/// The checks once the parked answer and the flow are taken, then the sign-in (or the test).
async fn resume_flow(
    st: &LoginCtx,
    sess: &tower_sessions::Session,
    headers: &HeaderMap,
    raw: &str,
    conn: crate::domain::Connection,
    done: DoneRecord,
    flow: Option<crate::login::flow::Flow>,
) -> Result<Response, LoginError> {
    let c = Some(&conn);
    if let Some(f) = &flow {
        // The flow must be this browser's (checked by `take`), hold the same binding, and be
        // waiting for exactly this request on this connection.
        let pending_ok = f.upstream.as_ref().is_some_and(|u| {
            u.connection_id == conn.id
                && matches!(&u.pending, Pending::Saml { request_id }
                    if Some(request_id) == done.request_id.as_ref())
                && Some(&u.state_hash) == done.relay_hash.as_ref()
        });
        let binding_ok = done
            .binding
            .as_ref()
            .is_some_and(|b| bool::from(f.binding.as_bytes().ct_eq(b.as_bytes())));
        if !binding_ok {
            return Err(rejected(c, raw, "wrong_browser", PageError::WrongBrowser));
        }
        if !pending_ok {
            return Err(rejected(c, raw, "other_request", PageError::Unknown));
        }
    }
    // A test request's answer ends a test flow and nothing else, and the other way round.
    match (&flow, done.test) {
        (Some(f), true) => {
            let Some(marker) = &f.test else {
                return Err(rejected(c, raw, "other_request", PageError::Unknown));
            };
            return super::signin::test_answer(st, &conn, &done, marker).await;
        }
        (Some(f), false) if f.test.is_some() => {
            return Err(rejected(c, raw, "other_request", PageError::Unknown));
        }
        (None, true) => return Err(rejected(c, raw, "other_request", PageError::Unknown)),
        _ => {}
    }
    let lang = flow.as_ref().and_then(|f| f.ui_lang());
    super::signin::sign_in_assertion(st, headers, sess, conn, done, flow)
        .await
        .map_err(|e| e.in_lang(lang))
}
