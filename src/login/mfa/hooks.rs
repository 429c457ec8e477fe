//! The seam between the second-factor framework (`login::mfa`) and WebAuthn passkeys
//! (`login::mfa::passkey`): what the framework asks about passkeys.
//!
//! Owns: those four answers. Must not touch: TOTP, recovery codes, the flow's stages.
//! (The signatures are the contract in `mfa-api.md`.)

use crate::domain::UserId;
use crate::login::LoginCtx;
use crate::storage::Storage;
use axum::Router;
use axum::routing::post;

use super::passkey;

/// Whether the user has at least one passkey (they count as enrolled; the challenge page
/// offers "Use a passkey"). A passkey counts even while the public URL cannot carry passkeys
/// (`passkey::rp::PasskeyRp::new`): the user is then challenged and cannot pass, rather than
/// offered a fresh enrolment on the strength of the password alone (an admin's reset helps).
pub async fn has_passkeys(st: &LoginCtx, user: &UserId) -> crate::storage::Result<bool> {
    Ok(!st.storage.list_passkeys(user).await?.is_empty())
}

/// Whether the enrolment page offers "Add a passkey" (beside the authenticator app): when the
/// public URL has a domain for the passkeys' RP ID.
pub fn passkeys_offered(st: &LoginCtx) -> bool {
    st.passkeys.available()
}

/// Remove every passkey of the user (an org admin's reset); how many were removed.
pub async fn delete_passkeys(storage: &dyn Storage, user: &UserId) -> crate::storage::Result<u64> {
    storage.delete_all_passkeys_for_user(user).await
}

/// The passkey ceremony's routes (under `/login/mfa/passkey…`), merged into the login router.
pub fn routes() -> Router<LoginCtx> {
    Router::new()
        .route(
            "/login/mfa/passkey/register/options",
            post(passkey::register_options),
        )
        .route(
            "/login/mfa/passkey/register/finish",
            post(passkey::register_finish),
        )
        .route(
            "/login/mfa/passkey/authenticate/options",
            post(passkey::authenticate_options),
        )
        .route(
            "/login/mfa/passkey/authenticate/finish",
            post(passkey::authenticate_finish),
        )
}
