//! The first leg of a SAML sign-in, protocol side: build the AuthnRequest for the connection's
//! IdP and encode it for the binding the IdP offers (HTTP-Redirect when it has one: no page, no
//! script; else HTTP-POST through an auto-submitting page that `login` renders).
//!
//! Owns: choosing the binding, signing, the request id. Must not touch: the flow or the state
//! store (the caller keeps the returned request id and RelayState), pages.

use super::{SamlService, SetupError, request, sp_urls};
use crate::config::Config;
use crate::domain::{Connection, SamlConfig};
use crate::upstream::Begin;
use time::OffsetDateTime;

/// Why an AuthnRequest could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    /// The metadata or pinned state could not be loaded.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// No usable metadata is pinned yet.
    #[error("no IdP metadata is pinned for this connection")]
    NoMetadata,
    /// The metadata offers neither an HTTP-Redirect nor an HTTP-POST SSO endpoint.
    #[error("the IdP metadata has no usable SSO endpoint")]
    NoSsoEndpoint,
    /// The SP signing key could not be loaded, or the request not encoded or signed.
    #[error("{0}")]
    Internal(String),
}

/// A request ready to send.
#[derive(Debug)]
pub struct Started {
    pub begin: Begin,
    /// The AuthnRequest `ID`, to be matched with `InResponseTo`.
    pub request_id: String,
}

impl SamlService {
    /// Build the AuthnRequest for `conn` carrying `relay_state` (an opaque handle, never a URL).
    pub async fn begin(
        &self,
        config: &Config,
        conn: &Connection,
        cfg: &SamlConfig,
        relay_state: &str,
        force_authn: bool,
        now: OffsetDateTime,
    ) -> Result<Started, BeginError> {
        let idp = self.idp_state(conn).await?;
        let md = idp.metadata.as_ref().ok_or(BeginError::NoMetadata)?;
        let urls = sp_urls(config, &conn.id);
        let request_id = request::new_request_id();
        let params = request::AuthnRequestParams {
            id: &request_id,
            issue_instant: now,
            destination: "",
            acs_url: &urls.acs,
            sp_entity_id: &urls.entity_id,
            name_id_format: cfg.name_id_format.as_deref(),
            force_authn,
        };
        let sign = cfg.sign_authn_requests || md.want_authn_requests_signed;
        let key = if sign {
            let k =
                self.sp_keys.active().await.map_err(|e| {
                    BeginError::Internal(format!("cannot load the SAML SP key: {e}"))
                })?;
            Some(k)
        } else {
            None
        };
        if let Some(sso) = &md.sso_redirect {
            let p = request::AuthnRequestParams {
                destination: sso,
                ..params
            };
            let xml = request::authn_request_xml(&p, false);
            let url = request::redirect_url(sso, &xml, relay_state, key.as_ref().map(|k| k.rsa()))
                .map_err(|e| {
                    BeginError::Internal(format!("cannot encode the AuthnRequest: {e}"))
                })?;
            return Ok(Started {
                begin: Begin::Redirect(url),
                request_id,
            });
        }
        let sso = md.sso_post.as_deref().ok_or(BeginError::NoSsoEndpoint)?;
        let p = request::AuthnRequestParams {
            destination: sso,
            ..params
        };
        let message = request::post_message(
            self.dsig.as_ref(),
            &p,
            key.as_ref().map(|k| k.private_der()),
        )
        .map_err(|e| BeginError::Internal(format!("cannot sign the AuthnRequest: {e}")))?;
        Ok(Started {
            begin: Begin::AutoPost {
                action: sso.to_owned(),
                field: "SAMLRequest",
                message,
                relay_state: relay_state.to_owned(),
            },
            request_id,
        })
    }
}
