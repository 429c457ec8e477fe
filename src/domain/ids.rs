//! Identifier newtypes. Ids are opaque strings `prefix_<ulid>` when generated, and any
//! `[a-z0-9][a-z0-9_.-]{0,63}` when given by an operator (declarative import keeps them stable).

use super::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};

/// A lowercase ULID that sorts after every ULID this process made before it.
///
/// `Ulid::new()` alone orders ids only to the millisecond: two audit events written in the same
/// millisecond could list in the wrong order (the audit log pages by id). The generator bumps
/// the random part within a millisecond instead (ULID spec, "Monotonicity"); across processes
/// the order stays by millisecond, as it must.
fn fresh_ulid() -> String {
    static GEN: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let id = match GEN.lock().ok().and_then(|mut g| g.generate().ok()) {
        Some(id) => id,
        // Overflow of the 80-bit random part within one millisecond, or a poisoned lock: a
        // plain random ULID is still unique. (Not `Ulid::default()`: that is the nil ULID.)
        None => ulid::Ulid::new(),
    };
    id.to_string().to_ascii_lowercase()
}

fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.')
        })
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $prefix:literal) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new random id: the prefix and a lowercase ULID (time-ordered, 80 random bits,
            /// monotonic within this process).
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, fresh_ulid()))
            }

            pub fn parse(s: &str) -> DomainResult<Self> {
                if valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(DomainError::new(
                        "id",
                        concat!("must be 1-64 characters of a-z, 0-9, '_', '-' or '.', starting with a letter or digit (",
                            stringify!($name), ")"),
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> DomainResult<Self> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> DomainResult<Self> {
                Self::parse(s)
            }
        }
    };
}

id_type!(/// An organization.
    OrgId, "org");
id_type!(/// A vendor application (one OIDC client).
    AppId, "app");
id_type!(/// A role group of one app.
    RoleGroupId, "rg");
id_type!(/// An org's connection (OIDC, SAML or password).
    ConnectionId, "conn");
id_type!(/// A tenant-level user; the stable `sub` of every token.
    UserId, "usr");
id_type!(/// A pending membership.
    InvitationId, "inv");
id_type!(/// An audit event (also the id of the webhook event derived from it).
    AuditEventId, "evt");
id_type!(/// A registered webhook endpoint.
    WebhookId, "whk");
id_type!(/// One row of the delivery outbox (one event for one receiver).
    OutboxId, "dlv");

/// 1-128 characters of the base64url alphabet and `.`: what an opaque id that Lobby makes from
/// random bytes or a digest (base64url) looks like, with room for hand-made ids in tests.
fn valid_opaque(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// An opaque id made of random bytes or a digest (not an operator-given id): validated on
/// parse, a plain string in JSON and in the database.
macro_rules! opaque_id {
    ($(#[$m:meta])* $name:ident, $field:literal) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> DomainResult<Self> {
                if valid_opaque(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(DomainError::new(
                        $field,
                        "must be 1-128 characters of A-Z, a-z, 0-9, '_', '-' or '.'",
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> DomainResult<Self> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> DomainResult<Self> {
                Self::parse(s)
            }
        }
    };
}

opaque_id!(/// A refresh-token family: everything one authorization issued (`storage::RefreshFamily`).
    /// Made as `rf_` and 256 random bits in base64url.
    RefreshFamilyId, "family_id");

opaque_id!(/// A token-signing key's `kid`: the RFC 7638 SHA-256 thumbprint of its public JWK,
    /// base64url (`keys::alg::public_jwk`).
    KeyId, "kid");

impl RefreshFamilyId {
    /// A new family id: `rf_` and 256 random bits, base64url.
    pub fn generate() -> Self {
        Self(format!("rf_{}", super::secret::random_token()))
    }
}

/// An org slug: lowercase letters, digits and single hyphens, 2-63 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let b = s.as_bytes();
        let ok = (2..=63).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::new(
                "slug",
                "must be 2-63 lowercase letters, digits or single hyphens, not starting or ending with a hyphen",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = DomainError;
    fn try_from(s: String) -> DomainResult<Self> {
        Self::parse(&s)
    }
}
impl From<Slug> for String {
    fn from(v: Slug) -> String {
        v.0
    }
}
impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OAuth `client_id`: 1-128 visible ASCII characters without spaces, quotes or `:`
/// (`:` would break HTTP Basic client authentication, RFC 6749 §2.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let ok = (1..=128).contains(&s.len())
            && s.bytes()
                .all(|c| c.is_ascii_graphic() && !matches!(c, b':' | b'"' | b'\\'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::new(
                "client_id",
                "must be 1-128 visible ASCII characters without ':', quotes or backslashes",
            ))
        }
    }
    pub fn generate() -> Self {
        Self(format!("client_{}", fresh_ulid()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for ClientId {
    type Error = DomainError;
    fn try_from(s: String) -> DomainResult<Self> {
        Self::parse(&s)
    }
}
impl From<ClientId> for String {
    fn from(v: ClientId) -> String {
        v.0
    }
}
impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role value: the stable identifier of an app role that is put in tokens.
/// 1-128 of `A-Z a-z 0-9 _ . : -`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleValue(String);

impl RoleValue {
    pub fn parse(s: &str) -> DomainResult<Self> {
        let b = s.as_bytes();
        let ok = (1..=128).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::new(
                "value",
                "a role value must be 1-128 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for RoleValue {
    type Error = DomainError;
    fn try_from(s: String) -> DomainResult<Self> {
        Self::parse(&s)
    }
}
impl From<RoleValue> for String {
    fn from(v: RoleValue) -> String {
        v.0
    }
}
impl std::fmt::Display for RoleValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_sort_in_the_order_they_were_made() {
        // Thousands in a row share milliseconds; each must still sort after the one before,
        // so "newest first" by id is the order events were recorded in.
        let ids: Vec<AuditEventId> = (0..5000).map(|_| AuditEventId::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let a = ClientId::generate();
        let b = ClientId::generate();
        assert!(a.as_str() < b.as_str());
    }

    #[test]
    fn generated_ids_parse_and_carry_their_prefix() {
        let id = OrgId::generate();
        assert!(id.as_str().starts_with("org_"));
        assert_eq!(OrgId::parse(id.as_str()).unwrap(), id);
        assert!(AppId::generate().as_str().starts_with("app_"));
    }

    #[test]
    fn ids_reject_bad_characters() {
        for bad in ["", "Org", "-x", "a b", "a/b", "ä", &"a".repeat(65)] {
            assert!(OrgId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(OrgId::parse("acme").is_ok());
        assert!(OrgId::parse("acme-eu.1_x").is_ok());
    }

    #[test]
    fn refresh_family_ids_are_rf_and_base64url() {
        let id = RefreshFamilyId::generate();
        assert!(
            id.as_str().starts_with("rf_") && id.as_str().len() == 46,
            "{id}"
        );
        assert_eq!(RefreshFamilyId::parse(id.as_str()).unwrap(), id);
        assert_eq!(serde_json::to_value(&id).unwrap(), id.as_str());
        for bad in ["", "a b", "a/b", "a+b", &"a".repeat(129)] {
            assert!(RefreshFamilyId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn slugs() {
        for ok in ["acme", "acme-eu", "a1", "x9-y"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "Acme",
            "-acme",
            "acme-",
            "ac--me",
            "ac_me",
            "acmé",
            &"a".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_values_and_client_ids() {
        assert!(RoleValue::parse("sales:read").is_ok());
        assert!(RoleValue::parse(".x").is_err());
        assert!(RoleValue::parse("a b").is_err());
        assert!(ClientId::parse("my-app").is_ok());
        assert!(ClientId::parse("a:b").is_err());
        assert!(ClientId::parse("").is_err());
    }
}
