//! The pages of the connections area (askama, `templates/portal/connections/`) and the small
//! values they show: field errors, status words, certificate expiry in words.
//!
//! Owns: the page structs and their wording helpers. Must not touch: handlers' logic, storage.

use super::setup::{FieldError, date_words};
use crate::domain::{ConnectionKind, ConnectionState};
use crate::portal::Layout;
use crate::portal::view::current_tr;
use crate::upstream::oidc::Check;
use crate::upstream::saml::IdpState;
use askama::Template;

/// Field errors of a submitted form (and one for the form as a whole).
#[derive(Clone, Debug, Default)]
pub struct Errors {
    pub fields: Vec<FieldError>,
    pub form: Option<String>,
}

impl Errors {
    pub fn field(e: FieldError) -> Self {
        Self {
            fields: vec![e],
            form: None,
        }
    }
    pub fn form(message: impl Into<String>) -> Self {
        Self {
            fields: vec![],
            form: Some(message.into()),
        }
    }
    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
    pub fn any(&self) -> bool {
        !self.fields.is_empty() || self.form.is_some()
    }
    /// The status of a form page showing these errors: 400 when there are any, else 200.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.any() {
            axum::http::StatusCode::BAD_REQUEST
        } else {
            axum::http::StatusCode::OK
        }
    }
}

/// A connection's kind in words (the protocols' names stay as they are).
pub fn kind_words(k: ConnectionKind) -> String {
    match k {
        ConnectionKind::Saml => "SAML".into(),
        ConnectionKind::Oidc => "OpenID Connect".into(),
        ConnectionKind::Password => current_tr().t("portal-conn-kind-password"),
    }
}

pub fn state_words(s: ConnectionState) -> String {
    current_tr().t(match s {
        ConnectionState::Draft => "portal-conn-state-draft",
        ConnectionState::Active => "portal-conn-state-active",
        ConnectionState::Disabled => "portal-conn-state-disabled",
    })
}

/// The certificate column of a SAML connection, from what was pinned (no fetch).
pub fn cert_words(state: Option<&IdpState>, now: i64) -> (String, bool) {
    let tr = current_tr();
    let Some(md) = state.and_then(|s| s.metadata.as_ref()) else {
        return (tr.t("portal-conn-cert-not-loaded"), false);
    };
    let best = md.signing_certs.iter().filter_map(|c| c.not_after).max();
    match best {
        None => (tr.t("portal-conn-cert-unreadable"), false),
        Some(t) if t <= now => (
            tr.t1("portal-conn-cert-expired", "date", date_words(t)),
            true,
        ),
        Some(t) if (t - now) / 86_400 < 30 => (
            tr.t2(
                "portal-conn-cert-expires-soon",
                "date",
                date_words(t),
                "days",
                (t - now) / 86_400,
            ),
            true,
        ),
        Some(t) => (
            tr.t1("portal-conn-cert-valid", "date", date_words(t)),
            false,
        ),
    }
}

/// One row of the connections list.
pub struct Row {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub state: String,
    pub active: bool,
    /// SAML only.
    pub cert: Option<(String, bool)>,
    /// Has a page of its own (the wizard covers SAML and OIDC).
    pub editable: bool,
}

#[derive(Template)]
#[template(path = "portal/connections/list.html")]
pub struct ListPage {
    pub l: Layout,
    /// The viewer may change connections (else forms are hidden).
    pub can_write: bool,
    pub base: String,
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "portal/connections/new.html")]
pub struct ChoosePage {
    pub l: Layout,
    pub base: String,
}

/// Lobby's side of a SAML connection, for the IdP administrator.
pub struct SpInfo {
    pub entity_id: String,
    pub acs: String,
    pub metadata_url: String,
    /// Served by the portal (works before the connection is saved).
    pub download: String,
}

#[derive(Template)]
#[template(path = "portal/connections/saml.html")]
pub struct SamlPage {
    pub l: Layout,
    pub base: String,
    /// Where the form posts.
    pub action: String,
    /// Creating (the reserved id travels in the form) or editing.
    pub creating: bool,
    pub id: String,
    pub sp: SpInfo,
    pub name: String,
    pub source: String,
    pub metadata_xml: String,
    pub metadata_url: String,
    pub entity_id: String,
    pub sso_url: String,
    pub certificate: String,
    pub errors: Errors,
}

#[derive(Template)]
#[template(path = "portal/connections/oidc.html")]
pub struct OidcPage {
    pub l: Layout,
    pub base: String,
    pub action: String,
    pub creating: bool,
    pub id: String,
    pub redirect_uri: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// A secret is stored (it is never shown).
    pub secret_set: bool,
    pub scopes: String,
    pub auth_method: String,
    pub errors: Errors,
}

/// A preset in the picker.
pub struct PresetLink {
    pub id: &'static str,
    pub label: String,
    pub current: bool,
}

/// One role the org may grant, as a checkbox of a mapping row.
pub struct RoleChoice {
    /// `app_id role` (the checkbox value).
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One group → roles row.
pub struct MappingRow {
    pub index: usize,
    pub group: String,
    pub roles: Vec<RoleChoice>,
}

#[derive(Template)]
#[template(path = "portal/connections/mapping.html")]
pub struct MappingPage {
    pub l: Layout,
    pub base: String,
    pub id: String,
    pub saml: bool,
    pub presets: Vec<PresetLink>,
    pub preset_hint: Option<String>,
    pub email: String,
    pub name: String,
    pub groups: String,
    pub rows: Vec<MappingRow>,
    /// The org may grant no role at all (no linked app with role groups).
    pub no_roles: bool,
    pub errors: Errors,
}

#[derive(Template)]
#[template(path = "portal/connections/show.html")]
pub struct ShowPage {
    pub l: Layout,
    /// The viewer may change connections (else forms are hidden).
    pub can_write: bool,
    pub base: String,
    pub id: String,
    pub kind: String,
    pub state: String,
    pub active: bool,
    pub sp: Option<SpInfo>,
    pub redirect_uri: Option<String>,
    /// `(label, value)` lines of the configuration.
    pub facts: Vec<(String, String)>,
    pub mappings: Vec<String>,
    /// Other active identity providers of the org (sign-ins go to the first one listed).
    pub other_active: Vec<String>,
    pub errors: Errors,
}

#[derive(Template)]
#[template(path = "portal/connections/test.html")]
pub struct TestPage {
    pub l: Layout,
    /// The viewer may change connections (else forms are hidden).
    pub can_write: bool,
    pub base: String,
    pub id: String,
    pub name: String,
    pub active: bool,
    pub ok: bool,
    pub checks: Vec<Check>,
}

#[derive(Template)]
#[template(path = "portal/connections/result.html")]
pub struct ResultPage {
    pub l: Layout,
    /// The viewer may change connections (else forms are hidden).
    pub can_write: bool,
    pub base: String,
    pub id: String,
    pub name: String,
    pub active: bool,
    pub protocol: &'static str,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub name_value: Option<String>,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub values: Vec<(String, String)>,
    pub warnings: Vec<String>,
    /// The test sign-in failed: why.
    pub failure: Option<crate::login::test_signin::TestFailure>,
    /// For a failure the identity provider step can fix: what to change there, in words.
    pub step_hint: Option<String>,
}
