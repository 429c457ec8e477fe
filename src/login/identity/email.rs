//! One rule, for OIDC and SAML alike, for whether an upstream email is *verified* in Lobby
//! (DESIGN §6.2): the IdP must say so (OIDC `email_verified`; SAML has no flag, so an asserted
//! address is the IdP's word) **and** the address's domain must be one the connection's org has
//! verified — or, when the operator marked the connection `email_authority: any_domain`, any
//! domain no other org has verified. A domain verified by another org is never vouched for by
//! this connection's IdP: the address is kept as an unverified attribute.
//!
//! Only a verified email links, provisions (JIT) or redeems an invitation, and only a verified
//! email is `email_verified: true` in Lobby's tokens.
//!
//! Owns: that rule. Must not touch: what happens with the answer (`resolve`, `decision`).

use crate::domain::{Connection, Email, EmailAuthority, OrgId};
use crate::storage::{Storage, StorageError};

/// Whether an upstream email is verified, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTrust {
    Verified,
    /// The IdP did not say the address is verified.
    IdpDidNotVerify,
    /// Another org verified the domain (an attribute only; audited).
    ForeignDomain(OrgId),
    /// The domain is not one of the org's verified domains, and the connection is not an
    /// authority for other domains.
    NotOrgDomain,
}

impl EmailTrust {
    pub fn verified(&self) -> bool {
        *self == Self::Verified
    }
}

/// The rule as a pure function. `own_verified`: the connection's org verified the domain;
/// `owner`: the org that verified it, if any.
pub fn decide_email(
    idp_says_verified: bool,
    own_verified: bool,
    owner: Option<&OrgId>,
    org: &OrgId,
    authority: EmailAuthority,
) -> EmailTrust {
    if !idp_says_verified {
        return EmailTrust::IdpDidNotVerify;
    }
    if own_verified {
        return EmailTrust::Verified;
    }
    match owner {
        Some(o) if o != org => EmailTrust::ForeignDomain(o.clone()),
        _ => match authority {
            EmailAuthority::AnyDomain => EmailTrust::Verified,
            EmailAuthority::OrgVerifiedDomains => EmailTrust::NotOrgDomain,
        },
    }
}

/// The rule, reading what it needs from storage.
pub async fn email_trust(
    storage: &dyn Storage,
    conn: &Connection,
    email: &Email,
    idp_says_verified: bool,
) -> Result<EmailTrust, StorageError> {
    if !idp_says_verified {
        return Ok(EmailTrust::IdpDidNotVerify);
    }
    // A verified domain belongs to one org at most (`org_domains_verified_key`), so the one
    // (cached) lookup of its owner also says whether the connection's own org verified it.
    let owner = storage.find_verified_domain_org(&email.domain()).await?;
    let own_verified = owner.as_ref() == Some(&conn.org_id);
    Ok(decide_email(
        true,
        own_verified,
        owner.as_ref(),
        &conn.org_id,
        conn.config.email_authority(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use EmailAuthority::*;

    #[test]
    fn the_rule_as_a_table() {
        let org = OrgId::parse("org_a").unwrap();
        let other = OrgId::parse("org_b").unwrap();
        // (IdP says, own verified, owner, authority) → verified?
        let cases = [
            (
                true,
                true,
                Some(&org),
                OrgVerifiedDomains,
                EmailTrust::Verified,
            ),
            (
                false,
                true,
                Some(&org),
                OrgVerifiedDomains,
                EmailTrust::IdpDidNotVerify,
            ),
            (
                true,
                false,
                Some(&other),
                OrgVerifiedDomains,
                EmailTrust::ForeignDomain(other.clone()),
            ),
            (
                true,
                false,
                Some(&other),
                AnyDomain,
                EmailTrust::ForeignDomain(other.clone()),
            ),
            (
                true,
                false,
                None,
                OrgVerifiedDomains,
                EmailTrust::NotOrgDomain,
            ),
            (true, false, None, AnyDomain, EmailTrust::Verified),
            (false, false, None, AnyDomain, EmailTrust::IdpDidNotVerify),
        ];
        for (says, own, owner, auth, want) in cases {
            assert_eq!(
                decide_email(says, own, owner, &org, auth),
                want,
                "{says} {own} {owner:?} {auth:?}"
            );
        }
    }
}
