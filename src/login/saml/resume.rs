//! `GET /sso/saml/{connection_id}/continue?h=…`: the browser-bound second half of the ACS (a
//! same-origin navigation, so the flow cookie comes along): take the parked identity and the
//! flow, check both belong to this browser and this request, then finish the sign-in.
//!
//! Owns: the hand-over from the ACS to `finish`. Must not touch: validation, linking.

use super::{DoneRecord, callback_connection, done_key, reject};
use crate::domain::ConnectionState;
use crate::http::params::Params;
use crate::login::LoginCtx;
use crate::login::flow::{self};
use crate::pages::{PageError, error_page};
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
    let conn = match callback_connection(&st, &raw).await {
        Ok(Some(c)) if c.state == ConnectionState::Active => c,
        Ok(other) => {
            return reject(
                &st,
                &headers,
                other.as_ref(),
                &raw,
                "unknown_connection",
                PageError::BadRequest,
            )
            .await;
        }
        Err(()) => return error_page(PageError::Server, &headers, None),
    };
    let p = Params::from_query(q.as_deref());
    let Some(handle) = p.get("h").ok().flatten().filter(|h| flow::valid_id(h)) else {
        return reject(
            &st,
            &headers,
            Some(&conn),
            &raw,
            "unknown_handle",
            PageError::FlowExpired,
        )
        .await;
    };
    let done = match st.ephemeral.take(&done_key(handle)).await {
        Ok(Some(b)) => serde_json::from_slice::<DoneRecord>(&b).ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "state store error taking the SAML sign-in");
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "state_store",
                PageError::Unavailable,
            )
            .await;
        }
    };
    let Some(done) = done.filter(|d| d.connection_id == conn.id) else {
        return reject(
            &st,
            &headers,
            Some(&conn),
            &raw,
            "unknown_handle",
            PageError::FlowExpired,
        )
        .await;
    };
    let flow = match &done.flow_id {
        Some(id) => match flow::take(&st, id, &headers).await {
            Ok(f) => Some(f),
            Err(flow::FlowError::WrongBrowser) => {
                return reject(
                    &st,
                    &headers,
                    Some(&conn),
                    &raw,
                    "wrong_browser",
                    PageError::WrongBrowser,
                )
                .await;
            }
            Err(flow::FlowError::Missing) => {
                return reject(
                    &st,
                    &headers,
                    Some(&conn),
                    &raw,
                    "flow_expired",
                    PageError::FlowExpired,
                )
                .await;
            }
            Err(flow::FlowError::State(e)) => {
                tracing::error!(error = %e, "state store error loading the flow");
                return reject(
                    &st,
                    &headers,
                    Some(&conn),
                    &raw,
                    "state_store",
                    PageError::Unavailable,
                )
                .await;
            }
        },
        None => None,
    };
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
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "wrong_browser",
                PageError::WrongBrowser,
            )
            .await;
        }
        if !pending_ok {
            return reject(
                &st,
                &headers,
                Some(&conn),
                &raw,
                "other_request",
                PageError::Unknown,
            )
            .await;
        }
    }
    super::finish::finish(&st, &headers, &sess, conn, done, flow).await
}
