//! The attribute/claim mapping presets of the connection wizard: what common IdPs call the
//! email, display name and groups, for SAML attributes and for OIDC claims.
//!
//! Owns: the preset table. Must not touch: anything else (a preset only pre-fills the form;
//! what is saved is what the admin submits).

use crate::domain::ConnectionKind;

/// One IdP's attribute or claim names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The `preset=` value.
    pub id: &'static str,
    /// Shown in the picker.
    pub label: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    /// Empty: this IdP sends no groups by default.
    pub groups: &'static str,
    /// One sentence for the admin: where these names come from at that IdP.
    pub hint: &'static str,
}

const MS_EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

const SAML: &[Preset] = &[
    Preset {
        id: "generic",
        label: "SimpleSAMLphp / generic",
        email: "email",
        name: "name",
        groups: "groups",
        hint: "Plain attribute names, as SimpleSAMLphp and many other IdPs send them.",
    },
    Preset {
        id: "okta",
        label: "Okta",
        email: "email",
        name: "name",
        groups: "groups",
        hint: "In Okta, add the attribute statements email and name, and a group attribute statement named groups.",
    },
    Preset {
        id: "entra",
        label: "Microsoft Entra ID",
        email: MS_EMAIL,
        name: "http://schemas.microsoft.com/identity/claims/displayname",
        groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        hint: "Entra ID's default claims; add a group claim under Attributes & Claims (it sends group object ids unless you choose names).",
    },
    Preset {
        id: "google",
        label: "Google Workspace",
        email: "email",
        name: "name",
        groups: "groups",
        hint: "In Google's attribute mapping, map Primary email to email, a name field to name, and Group membership to groups.",
    },
    Preset {
        id: "adfs",
        label: "ADFS",
        email: MS_EMAIL,
        name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        groups: "http://schemas.xmlsoap.org/claims/Group",
        hint: "ADFS claim rules: E-Mail-Addresses, Display-Name as Name, and Token-Groups (unqualified names) as Group.",
    },
    Preset {
        id: "oid",
        label: "SAML standard names (urn:oid)",
        email: "urn:oid:0.9.2342.19200300.100.1.3",
        name: "urn:oid:2.16.840.1.113730.3.1.241",
        groups: "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
        hint: "mail, displayName and isMemberOf by their OID names (Shibboleth and research federations).",
    },
];

const OIDC: &[Preset] = &[
    Preset {
        id: "generic",
        label: "Generic OpenID Provider",
        email: "email",
        name: "name",
        groups: "groups",
        hint: "The standard claims of OpenID Connect, and a groups claim if your provider sends one.",
    },
    Preset {
        id: "okta",
        label: "Okta",
        email: "email",
        name: "name",
        groups: "groups",
        hint: "Add a groups claim to the ID token in Okta's authorization server (and the groups scope if you made one).",
    },
    Preset {
        id: "entra",
        label: "Microsoft Entra ID",
        email: "email",
        name: "name",
        groups: "groups",
        hint: "Add the optional email claim and a groups claim under Token configuration.",
    },
    Preset {
        id: "google",
        label: "Google Workspace",
        email: "email",
        name: "name",
        groups: "",
        hint: "Google's ID tokens carry no groups.",
    },
    Preset {
        id: "adfs",
        label: "ADFS",
        email: "upn",
        name: "unique_name",
        groups: "group",
        hint: "ADFS sends upn and unique_name; issue group claims through a claim rule.",
    },
];

/// The presets for a connection kind (none for passwords).
pub fn presets(kind: ConnectionKind) -> &'static [Preset] {
    match kind {
        ConnectionKind::Saml => SAML,
        ConnectionKind::Oidc => OIDC,
        ConnectionKind::Password => &[],
    }
}

/// The preset named `id` for `kind`.
pub fn find(kind: ConnectionKind, id: &str) -> Option<&'static Preset> {
    presets(kind).iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_generic_preset_and_ids_are_unique() {
        for kind in [ConnectionKind::Saml, ConnectionKind::Oidc] {
            assert_eq!(presets(kind)[0].id, "generic");
            let mut ids: Vec<_> = presets(kind).iter().map(|p| p.id).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), presets(kind).len());
            assert!(presets(kind).iter().all(|p| !p.email.is_empty()));
        }
        assert_eq!(find(ConnectionKind::Saml, "entra").unwrap().email, MS_EMAIL);
        assert!(find(ConnectionKind::Password, "generic").is_none());
    }
}
