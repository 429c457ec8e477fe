//! The declarative document: its YAML shapes (each element is the admin API's create request,
//! with its `id`), parsing with line and column, the import error, and finding the line of a
//! field path (`orgs[1].members[0]`) so that errors point into the file.
//!
//! Owns: the file format. Must not touch: validation and storage (`build`, `overlay`,
//! `plan`).

use crate::admin::dto::{
    AdminApiAccess, AppAuthPolicy, AppCreate, Branding, ClientType, ConnectionCreate, DomainCreate,
    LinkCreate, MemberCreate, MemberEvent, MfaPolicy, OrgStatus, RoleCreate, RoleGroupCreate,
    SigningAlg, TokenLifetimes, UserCreate,
};
use crate::admin::service::{self, ServiceError};
use crate::domain::*;
use crate::storage::StorageError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tenant configuration file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<DeclApp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<DeclOrg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserCreate>,
}

/// An app: the fields of `POST /api/v1/apps` (with a required `id`), plus its roles and role
/// groups in the shapes of `POST …/roles` and `POST …/role-groups`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclApp {
    #[schema(value_type = String)]
    pub id: AppId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<ClientType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<SigningAlg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetimes: Option<TokenLifetimes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_ttl_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_on: Option<Vec<MemberEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_policy: Option<AppAuthPolicy>,
    /// Access to Lobby's admin API (delegated and/or client credentials); default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_api: Option<AdminApiAccess>,
    /// OIDC Back-Channel Logout URI; default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_required: Option<bool>,
    /// Second factor of password sign-ins (`required` | `optional` | `off`); default `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_groups: Vec<RoleGroupCreate>,
}

impl DeclApp {
    pub(super) fn split(self) -> (AppCreate, Vec<RoleCreate>, Vec<RoleGroupCreate>) {
        (
            AppCreate {
                id: Some(self.id),
                name: self.name,
                client_id: self.client_id,
                client_type: self.client_type,
                client_secret: self.client_secret,
                client_secret_hash: self.client_secret_hash,
                redirect_uris: self.redirect_uris,
                post_logout_redirect_uris: self.post_logout_redirect_uris,
                signing_alg: self.signing_alg,
                token_lifetimes: self.token_lifetimes,
                invite_ttl_secs: self.invite_ttl_secs,
                revoke_on: self.revoke_on,
                auth_policy: self.auth_policy,
                admin_api: self.admin_api,
                backchannel_logout_uri: self.backchannel_logout_uri,
                backchannel_logout_session_required: self.backchannel_logout_session_required,
                mfa: self.mfa,
            },
            self.roles,
            self.role_groups,
        )
    }
}

/// An organization: the fields of `POST /api/v1/orgs` (with a required `id`), plus its
/// domains, app links (`apps`), connections and members in the shapes of their `POST`s.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclOrg {
    #[schema(value_type = String)]
    pub id: OrgId,
    #[schema(value_type = String)]
    pub slug: Slug,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrgStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<OrgId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<LinkCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberCreate>,
}

// ---------------------------------------------------------------------------------------
// Errors and where they are in the file

/// Why an import was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// The YAML does not parse into the document shape.
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    /// An element breaks a rule; `field` is its path in the file, e.g.
    /// `orgs[1].members[0].roles.app_crm`, and `line` where that path is (when found).
    Invalid {
        field: String,
        line: Option<usize>,
        message: String,
    },
    /// The storage refused or failed.
    Storage(String),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Parse {
                line,
                column,
                message,
            } => write!(f, "invalid YAML at line {line}, column {column}: {message}"),
            ImportError::Invalid {
                field,
                line: Some(line),
                message,
            } => write!(f, "line {line}: {field}: {message}"),
            ImportError::Invalid {
                field,
                line: None,
                message,
            } => write!(f, "{field}: {message}"),
            ImportError::Storage(m) => write!(f, "storage: {m}"),
        }
    }
}

impl std::error::Error for ImportError {}

impl ImportError {
    pub(super) fn from_service(e: ServiceError, at: &str) -> Self {
        match e.kind {
            service::ErrorKind::Internal => ImportError::Storage(e.message),
            _ => {
                let e = e.at(at);
                ImportError::Invalid {
                    field: e.field.unwrap_or_default(),
                    line: None,
                    message: e.message,
                }
            }
        }
    }
    pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ImportError::Invalid {
            field: field.into(),
            line: None,
            message: message.into(),
        }
    }
    /// Fill in the line of the field path.
    pub(super) fn with_line(self, yaml: &str) -> Self {
        match self {
            ImportError::Invalid {
                field,
                line: None,
                message,
            } => ImportError::Invalid {
                line: locate(yaml, &field),
                field,
                message,
            },
            other => other,
        }
    }
}

/// One path segment: `orgs`, `[1]`.
#[derive(Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Seg::Key(key.to_owned()));
        }
        for idx in rest.split('[').filter(|x| !x.is_empty()) {
            match idx.trim_end_matches(']').parse() {
                Ok(n) => out.push(Seg::Index(n)),
                Err(_) => return out,
            }
        }
    }
    out
}

/// The 1-based line of a field path (`orgs[1].members[0].roles`) in a block-style YAML
/// document; the deepest segment found. Best effort: flow collections and unusual layouts
/// stop the walk early.
pub fn locate(yaml: &str, path: &str) -> Option<usize> {
    // Entries: (line, indent, is_dash, text). "- a: 1" at indent i becomes a dash at i and
    // the text "a: 1" at i + 2.
    let mut entries: Vec<(usize, usize, bool, &str)> = Vec::new();
    for (n, raw) in yaml.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut rest = trimmed;
        while rest == "-" || rest.starts_with("- ") {
            entries.push((n + 1, indent, true, ""));
            let after = rest.get(1..).unwrap_or("");
            let t = after.trim_start();
            indent += 1 + (after.len() - t.len());
            rest = t;
        }
        if !rest.is_empty() {
            entries.push((n + 1, indent, false, rest));
        }
    }
    let mut lo = 0usize;
    let mut hi = entries.len();
    let mut found = None;
    for seg in segments(path) {
        let Some(&(_, indent, _, _)) = entries.get(lo) else {
            break;
        };
        if lo >= hi {
            break;
        }
        match seg {
            Seg::Key(k) => {
                let hit = (lo..hi).find(|&j| {
                    let (_, ind, dash, text) = entries[j];
                    !dash
                        && ind == indent
                        && text
                            .strip_prefix(k.as_str())
                            .is_some_and(|r| r.starts_with(':'))
                });
                let Some(j) = hit else { break };
                found = Some(entries[j].0);
                // The value: what follows, deeper than the key, or a sequence at its level.
                let mut end = j + 1;
                while end < hi {
                    let (_, ind, dash, _) = entries[end];
                    if ind > indent || (ind == indent && dash) {
                        end += 1;
                    } else {
                        break;
                    }
                }
                lo = j + 1;
                hi = end;
            }
            Seg::Index(n) => {
                let dashes: Vec<usize> = (lo..hi)
                    .filter(|&j| entries[j].2 && entries[j].1 == indent)
                    .collect();
                let Some(&j) = dashes.get(n) else { break };
                found = Some(entries[j].0);
                let end = dashes.get(n + 1).copied().unwrap_or(hi);
                lo = j + 1;
                hi = end;
            }
        }
    }
    found
}

impl From<StorageError> for ImportError {
    fn from(e: StorageError) -> Self {
        ImportError::Storage(match e {
            StorageError::Backend(c) => format!("{c:#}"),
            other => other.to_string(),
        })
    }
}

/// Parse a document; errors carry the line and column.
pub fn parse(yaml: &str) -> Result<Document, ImportError> {
    if yaml.trim().is_empty() {
        return Ok(Document::default());
    }
    serde_norway::from_str::<Document>(yaml).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let text = e.to_string();
        // The location is reported separately.
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        // Errors raised while converting a value (an invalid slug, say) are placed at the
        // start of the enclosing mapping; the leading `path: field:` finds the exact line.
        let path: Vec<&str> = message
            .split(": ")
            .take_while(|p| !p.is_empty() && !p.contains(' '))
            .collect();
        let line = match locate(yaml, &path.join(".")) {
            Some(l) if l > line => l,
            _ => line,
        };
        ImportError::Parse {
            line,
            column,
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::dto;
    use std::collections::BTreeSet;
    use utoipa::PartialSchema;

    fn props<T: PartialSchema>() -> BTreeSet<String> {
        let v = serde_json::to_value(T::schema()).unwrap();
        v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn elements_have_exactly_the_api_create_shapes() {
        let mut app = props::<dto::AppCreate>();
        app.extend(["roles".to_owned(), "role_groups".to_owned()]);
        assert_eq!(props::<DeclApp>(), app);
        let mut org = props::<dto::OrgCreate>();
        org.extend(
            ["domains", "apps", "connections", "members"]
                .iter()
                .map(|s| s.to_string()),
        );
        assert_eq!(props::<DeclOrg>(), org);
    }

    #[test]
    fn parse_errors_name_line_and_path() {
        let yaml =
            "apps:\n  - id: app_crm\n    name: CRM\n    redirect_uris: []\n    colour: red\n";
        match parse(yaml).unwrap_err() {
            ImportError::Parse { line, message, .. } => {
                assert_eq!(line, 5);
                assert!(message.contains("apps[0]"), "{message}");
                assert!(message.contains("colour"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let e = parse("orgs:\n  - id: acme\n    slug: Not A Slug\n    name: x\n").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("line 3"), "{s}");
        assert!(s.contains("orgs[0]"), "{s}");
        assert!(s.contains("slug"), "{s}");
        assert!(parse("").unwrap().apps.is_empty());
    }

    #[test]
    fn the_example_parses() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tenant.yaml"))
                .unwrap();
        let doc = parse(&text).unwrap();
        assert_eq!(doc.apps.len(), 1);
        assert!(doc.orgs.len() >= 3);
    }

    #[test]
    fn locate_finds_nested_paths() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tenant.yaml"))
                .unwrap();
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        assert_eq!(
            locate(&text, "apps[0].roles[1]"),
            Some(line_of("- value: finance"))
        );
        let globex_alice = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("- user_id: usr_alice"))
            .nth(1)
            .unwrap()
            .0
            + 1;
        assert_eq!(locate(&text, "orgs[2].members[0]"), Some(globex_alice));
        assert_eq!(
            locate(&text, "orgs[2].members[0].roles.app_crm"),
            Some(globex_alice + 2)
        );
        assert_eq!(
            locate(&text, "users[3].email"),
            Some(line_of("dave@globex.example"))
        );
        // serde_norway's own layout: sequences at the level of their key.
        let exported = "apps:\n- id: a\n  roles:\n  - value: x\n  - value: y\n";
        assert_eq!(locate(exported, "apps[0].roles[1].value"), Some(5));
        assert_eq!(locate(exported, "nope"), None);
    }
}
