//! The attribute/claim mapping presets of the connection wizard: what common IdPs call the
//! email, display name and groups, for SAML attributes and for OIDC claims.
//!
//! Owns: the preset table. Must not touch: anything else (a preset only pre-fills the form;
//! what is saved is what the admin submits).

use crate::domain::ConnectionKind;
use crate::i18n::Msg;

/// One IdP's attribute or claim names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The `preset=` value.
    pub id: &'static str,
    /// Shown in the picker.
    pub label: Msg,
    pub email: &'static str,
    pub name: &'static str,
    /// Empty: this IdP sends no groups by default.
    pub groups: &'static str,
    /// One sentence for the admin: where these names come from at that IdP.
    pub hint: Msg,
}

const MS_EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

const SAML: &[Preset] = &[
    Preset {
        id: "generic",
        label: Msg::new("portal-preset-saml-generic"),
        email: "email",
        name: "name",
        groups: "groups",
        hint: Msg::new("portal-preset-saml-generic-hint"),
    },
    Preset {
        id: "okta",
        label: Msg::new("portal-preset-saml-okta"),
        email: "email",
        name: "name",
        groups: "groups",
        hint: Msg::new("portal-preset-saml-okta-hint"),
    },
    Preset {
        id: "entra",
        label: Msg::new("portal-preset-saml-entra"),
        email: MS_EMAIL,
        name: "http://schemas.microsoft.com/identity/claims/displayname",
        groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        hint: Msg::new("portal-preset-saml-entra-hint"),
    },
    Preset {
        id: "google",
        label: Msg::new("portal-preset-saml-google"),
        email: "email",
        name: "name",
        groups: "groups",
        hint: Msg::new("portal-preset-saml-google-hint"),
    },
    Preset {
        id: "adfs",
        label: Msg::new("portal-preset-saml-adfs"),
        email: MS_EMAIL,
        name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        groups: "http://schemas.xmlsoap.org/claims/Group",
        hint: Msg::new("portal-preset-saml-adfs-hint"),
    },
    Preset {
        id: "oid",
        label: Msg::new("portal-preset-saml-oid"),
        email: "urn:oid:0.9.2342.19200300.100.1.3",
        name: "urn:oid:2.16.840.1.113730.3.1.241",
        groups: "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
        hint: Msg::new("portal-preset-saml-oid-hint"),
    },
];

const OIDC: &[Preset] = &[
    Preset {
        id: "generic",
        label: Msg::new("portal-preset-oidc-generic"),
        email: "email",
        name: "name",
        groups: "groups",
        hint: Msg::new("portal-preset-oidc-generic-hint"),
    },
    Preset {
        id: "okta",
        label: Msg::new("portal-preset-oidc-okta"),
        email: "email",
        name: "name",
        groups: "groups",
        hint: Msg::new("portal-preset-oidc-okta-hint"),
    },
    Preset {
        id: "entra",
        label: Msg::new("portal-preset-oidc-entra"),
        email: "email",
        name: "name",
        groups: "groups",
        hint: Msg::new("portal-preset-oidc-entra-hint"),
    },
    Preset {
        id: "google",
        label: Msg::new("portal-preset-oidc-google"),
        email: "email",
        name: "name",
        groups: "",
        hint: Msg::new("portal-preset-oidc-google-hint"),
    },
    Preset {
        id: "adfs",
        label: Msg::new("portal-preset-oidc-adfs"),
        email: "upn",
        name: "unique_name",
        groups: "group",
        hint: Msg::new("portal-preset-oidc-adfs-hint"),
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
