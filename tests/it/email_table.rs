//! The one `email_verified` table (issue 13 item 3), run by the OIDC federation tests and the
//! SAML tests alike: an upstream email is verified in Lobby — so it may provision (JIT) and is
//! `email_verified: true` in the token — only when the IdP says so *and* its domain is one the
//! connection's org verified (or the operator made the connection `any_domain`).

/// Whose domain the upstream email is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Verified by the connection's own org.
    Own,
    /// Verified by another org.
    OtherOrg,
    /// Verified by nobody.
    Unowned,
}

/// Where the IdP's "verified" comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// OIDC `email_verified: true` next to the email; SAML: the asserted address itself.
    Asserted,
    /// OIDC: no `email_verified` at all (the connection requires it). Not a SAML case.
    Missing,
    /// OIDC: the ID token has the email, only userinfo says `email_verified: true`. Not SAML.
    UserinfoOnly,
}

pub struct Row {
    pub domain: Domain,
    pub flag: Flag,
    /// The connection is `email_authority: any_domain`.
    pub any_domain: bool,
    /// Verified (the first sign-in provisions, the token says `email_verified: true`).
    pub verified: bool,
}

pub const ROWS: &[Row] = &[
    Row {
        domain: Domain::Own,
        flag: Flag::Asserted,
        any_domain: false,
        verified: true,
    },
    Row {
        domain: Domain::OtherOrg,
        flag: Flag::Asserted,
        any_domain: false,
        verified: false,
    },
    Row {
        domain: Domain::OtherOrg,
        flag: Flag::Asserted,
        any_domain: true,
        verified: false,
    },
    Row {
        domain: Domain::Unowned,
        flag: Flag::Asserted,
        any_domain: false,
        verified: false,
    },
    Row {
        domain: Domain::Unowned,
        flag: Flag::Asserted,
        any_domain: true,
        verified: true,
    },
    Row {
        domain: Domain::Own,
        flag: Flag::Missing,
        any_domain: false,
        verified: false,
    },
    Row {
        domain: Domain::Own,
        flag: Flag::UserinfoOnly,
        any_domain: false,
        verified: false,
    },
];
