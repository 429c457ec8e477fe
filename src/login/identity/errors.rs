//! Why a federated sign-in is refused ([`IdentityError`]: an audit reason, a sentence for the
//! person, an HTTP status) and how its outcomes are recorded in the audit log.
//!
//! Owns: the denial reasons and the audit events of federated sign-ins. Must not touch: the
//! decisions that produce them.

use crate::domain::{AuditEvent, AuditEventId, OrgId, Outcome};
use crate::pages::sso::{
    SENTENCE_CONNECTION_UNAVAILABLE, SENTENCE_EMAIL_MISSING, SENTENCE_EMAIL_NOT_VERIFIED,
    SENTENCE_INVITATION_EMAIL_MISMATCH, SENTENCE_INVITATION_INVALID, SENTENCE_INVITATION_WRONG_ORG,
    SENTENCE_MEMBERSHIP_SUSPENDED, SENTENCE_NOT_PROVISIONED, SENTENCE_ORG_NO_ACCESS,
    SENTENCE_SERVER,
};
use crate::storage::{Storage, StorageError};
use axum::http::StatusCode;

/// Why a federated sign-in is refused. `reason()` goes to the audit log, `message()` to the
/// person.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("the identity did not come from this connection")]
    WrongConnection,
    #[error("the connection is not active")]
    ConnectionInactive,
    #[error("the organization is missing or suspended")]
    OrgInactive,
    #[error("the organization is not linked to the app")]
    NotLinked,
    #[error("the app's auth policy does not allow this connection")]
    ConnectionNotAllowed,
    #[error("the IdP sent no usable email")]
    MissingEmail,
    #[error("the IdP did not confirm the email is verified")]
    EmailNotVerified,
    #[error("the invitation is unknown, used, revoked or expired")]
    InvitationInvalid,
    #[error("the invitation is for another organization")]
    InvitationWrongOrg,
    #[error("the invitation is for another email address")]
    InvitationEmailMismatch,
    #[error("not a member and just-in-time provisioning is off")]
    NotProvisioned,
    #[error("the membership is suspended or not yet active")]
    MembershipInactive,
    #[error("the stored identity has no user")]
    Inconsistent,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl IdentityError {
    /// Stable reason code for the audit log and tests.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::WrongConnection => "wrong_connection",
            Self::ConnectionInactive => "connection_inactive",
            Self::OrgInactive => "org_inactive",
            Self::NotLinked => "org_not_linked",
            Self::ConnectionNotAllowed => "connection_not_allowed",
            Self::MissingEmail => "email_missing",
            Self::EmailNotVerified => "email_not_verified",
            Self::InvitationInvalid => "invitation_invalid",
            Self::InvitationWrongOrg => "invitation_wrong_org",
            Self::InvitationEmailMismatch => "invitation_email_mismatch",
            Self::NotProvisioned => "not_provisioned",
            Self::MembershipInactive => "membership_inactive",
            Self::Inconsistent => "inconsistent_identity",
            Self::Storage(_) => "storage_error",
        }
    }

    /// The fixed sentence shown to the person.
    pub fn message(&self) -> crate::i18n::Msg {
        match self {
            Self::WrongConnection | Self::ConnectionInactive | Self::ConnectionNotAllowed => {
                SENTENCE_CONNECTION_UNAVAILABLE
            }
            Self::OrgInactive | Self::NotLinked => SENTENCE_ORG_NO_ACCESS,
            Self::MissingEmail => SENTENCE_EMAIL_MISSING,
            Self::EmailNotVerified => SENTENCE_EMAIL_NOT_VERIFIED,
            Self::InvitationInvalid => SENTENCE_INVITATION_INVALID,
            Self::InvitationWrongOrg => SENTENCE_INVITATION_WRONG_ORG,
            Self::InvitationEmailMismatch => SENTENCE_INVITATION_EMAIL_MISMATCH,
            Self::NotProvisioned => SENTENCE_NOT_PROVISIONED,
            Self::MembershipInactive => SENTENCE_MEMBERSHIP_SUSPENDED,
            Self::Inconsistent | Self::Storage(_) => SENTENCE_SERVER,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Inconsistent | Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::WrongConnection | Self::ConnectionInactive => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// An audit event of a federated sign-in; failures to record are logged, never fatal.
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    storage: &dyn Storage,
    now: time::OffsetDateTime,
    org: Option<&OrgId>,
    action: &str,
    target: (&str, &str),
    outcome: Outcome,
    actor: String,
    details: serde_json::Value,
) {
    let ev = audit_event(now, org, action, target, outcome, actor, details);
    if let Err(e) = storage.append_audit(&ev).await {
        tracing::error!(error = %e, action, "cannot record an audit event");
    }
}

pub(super) fn audit_event(
    now: time::OffsetDateTime,
    org: Option<&OrgId>,
    action: &str,
    target: (&str, &str),
    outcome: Outcome,
    actor: String,
    details: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        time: now,
        actor,
        org_id: org.cloned(),
        action: action.to_owned(),
        target_type: target.0.to_owned(),
        target_id: target.1.to_owned(),
        outcome,
        details,
        request_id: crate::http::current_request_id(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_denial_has_a_reason_and_a_sentence() {
        for e in [
            IdentityError::WrongConnection,
            IdentityError::ConnectionInactive,
            IdentityError::OrgInactive,
            IdentityError::NotLinked,
            IdentityError::ConnectionNotAllowed,
            IdentityError::MissingEmail,
            IdentityError::EmailNotVerified,
            IdentityError::InvitationInvalid,
            IdentityError::InvitationWrongOrg,
            IdentityError::InvitationEmailMismatch,
            IdentityError::NotProvisioned,
            IdentityError::MembershipInactive,
            IdentityError::Inconsistent,
        ] {
            assert!(!e.reason().is_empty());
            assert!(e.message().en().ends_with('.'));
        }
    }
}
