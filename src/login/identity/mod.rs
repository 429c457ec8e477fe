//! Who a federated sign-in is (DESIGN §6 rules 1–2), shared by the OIDC and SAML federation
//! connectors: an upstream IdP has authenticated someone; [`resolve`] turns that into
//! a Lobby user and a membership of the connection's org, or a denial with a reason.
//!
//! The rules, in order:
//! 1. A connection signs users into **its own org only**: the identity must come from this
//!    connection, which must be active, its org active and linked to the app, and the
//!    connection allowed by the link's auth policy (`discovery::policy_connections`).
//! 2. The external identity is the triple (connection, issuer, subject) — never the email. A
//!    known triple is that user; their membership of the connection's org must be active.
//! 3. First sign-in (unknown triple, or a known user without a membership of this org) needs
//!    an email the IdP says is verified (`email_verified=false` — or missing, when the
//!    connection requires it: the connector turns "missing" into `false` per its policy — never
//!    links and never provisions). Then either
//!    - an invitation token carried by the flow (`/authorize?invitation=…`): the invitation must
//!      be pending, unexpired, of **this connection's org**, and addressed to the same email; it
//!      is consumed exactly once with a compare-and-swap on its version; the member gets the
//!      invitation's roles; or
//!    - just-in-time provisioning when the org↔app link has `jit`: the link's default roles —
//!      only for an email Lobby counts as verified (`email.rs`: the IdP's word *and* a domain
//!      of the connection's org, unless the operator made the connection `any_domain`).
//!
//!    Otherwise: no access (the org's admins must invite the user).
//!
//!    A first sign-in is one storage transaction: the new user, their external identity, the
//!    accepted invitation and the membership are written together or not at all (a failure
//!    leaves nothing behind and the invitation unused).
//! 4. **An email match alone never links to an existing user.** A first sign-in always creates a
//!    new user, even when another user (a password account, or the same person through another
//!    connection) has the same email: linking by email would let any IdP that can assert an
//!    address take over that account. Admins can merge later; Lobby never guesses.
//! 5. The user's `email_verified` (and so the tokens') follows the one rule of `email.rs`, for
//!    OIDC and SAML alike. An email whose domain is *verified by another org* is stored as an
//!    attribute only: kept on the user with `email_verified = false` (so apps that trust
//!    `email_verified` are not misled), never used for invitations' matching beyond the
//!    invitation's own org, and flagged with an `identity.email_foreign_domain` audit event.
//! 6. Group → role mapping (`role_mapping` of the connection, for connections that name a
//!    `groups` claim): on every sign-in, the roles the mapping *manages* (those named anywhere in
//!    it for an app) follow the IdP's groups, limited to the org's allowed role groups for that
//!    app; roles an admin granted outside the managed set are kept.
//!    On provisioning the same rule applies on top of the link's default roles or the
//!    invitation's roles (a managed role the IdP's groups do not grant is not kept).
//! 7. Every outcome is an audit event `login.federated` (success with `via`, or denied with a
//!    `reason`); storage failures fail closed.
//!
//! Name and email are refreshed from the IdP on every sign-in (the IdP owns the profile).
//!
//! Also here, for both connectors: [`sign_in`] (start the SSO session with a fresh session id,
//! issue the code through `issue::issue_code_with`). The federated error page is
//! `pages::sso`.
//!
//! Files: `decision.rs` (rules 2–6 as a pure function over a snapshot), `resolve.rs` (rule 1,
//! reading the snapshot, carrying out the decision), `roles.rs` (group → role mapping),
//! `errors.rs` (denial reasons, audit events), `eligibility.rs` (orgs an SSO session is good
//! for), `sign_in.rs` (SSO session, code), `upstream.rs` ([`UpstreamIdentity`]).
//!
//! Owns: account linking and provisioning of federated sign-ins. Must not touch: protocol
//! validation (the connectors), token contents (provider), pages other than its error page.

mod decision;
mod eligibility;
mod email;
mod errors;
mod resolve;
mod roles;
mod sign_in;

#[cfg(test)]
mod tests;

pub use crate::upstream::identity::UpstreamIdentity;
pub use decision::Via;
pub use eligibility::eligible_federated_orgs;
pub use email::{EmailTrust, decide_email, email_trust};
pub use errors::{IdentityError, audit};
pub use resolve::{Resolved, resolve};
pub use sign_in::sign_in;

/// Control characters out, at most `max` characters, trimmed; `None` when nothing is left.
fn clean(s: Option<String>, max: usize) -> Option<String> {
    s.map(|v| {
        v.chars()
            .filter(|c| !c.is_control())
            .take(max)
            .collect::<String>()
            .trim()
            .to_owned()
    })
    .filter(|v| !v.is_empty())
}
