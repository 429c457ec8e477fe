//! The seam between the second-factor framework (`login::mfa`) and WebAuthn passkeys
//! (`login::mfa::passkey`, built separately): what the framework asks about passkeys. Until
//! passkeys exist, nobody has one, none is offered, a reset removes none and no route is added.
//!
//! Owns: those four answers. Must not touch: TOTP, recovery codes, the flow's stages.
//! (The passkey work replaces the bodies; the signatures are the contract in `mfa-api.md`.)

use crate::domain::UserId;
use crate::login::LoginCtx;
use crate::storage::Storage;
use axum::Router;

/// Whether the user has at least one passkey (they count as enrolled; the challenge page
/// offers "Use a passkey").
pub async fn has_passkeys(_st: &LoginCtx, _user: &UserId) -> crate::storage::Result<bool> {
    Ok(false)
}

/// Whether the enrolment page offers "Add a passkey" (beside the authenticator app).
pub fn passkeys_offered(_st: &LoginCtx) -> bool {
    false
}

/// Remove every passkey of the user (an org admin's reset); how many were removed.
pub async fn delete_passkeys(
    _storage: &dyn Storage,
    _user: &UserId,
) -> crate::storage::Result<u64> {
    Ok(0)
}

/// The passkey ceremony's routes (under `/login/mfa/passkey…`), merged into the login router.
pub fn routes() -> Router<LoginCtx> {
    Router::new()
}
