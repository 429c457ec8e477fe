//! Request and response shapes of the admin API (and, element by element, of the declarative
//! file). Separate from the domain types so that the wire format is deliberate.
//!
//! Owns: the JSON shapes and their conversions from domain objects. Must not touch: storage,
//! validation beyond what the domain newtypes do while parsing (the rules are in `service`).
//!
//! Requests are `deny_unknown_fields`. Responses never carry client secret hashes, upstream
//! client secrets or password hashes: they say `client_secret_set` / `password_set` instead.
//!
//! Layout: `common` (timestamps, the enums mirrored from the domain, list and delete query
//! parameters), then one file per aggregate: `apps` (apps, roles, role groups), `orgs`
//! (orgs, app links, domains), `connections`, `users` (users, external identities),
//! `members` (memberships, invitations), `audit`, `webhooks`. Everything is re-exported here: callers
//! name `dto::X`.

/// One page of a list response: `list_type!(AppList, AppResponse)`.
macro_rules! list_type {
    ($name:ident, $item:ty) => {
        /// One page of results.
        #[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `after` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

mod apps;
mod audit;
mod common;
mod connections;
mod members;
mod orgs;
mod users;
mod webhooks;

pub use apps::*;
pub use audit::*;
pub use common::*;
pub use connections::*;
pub use members::*;
pub use orgs::*;
pub use users::*;
pub use webhooks::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_secrets_are_redacted_in_debug() {
        let req: AppCreate = serde_json::from_value(serde_json::json!({
            "name": "x", "redirect_uris": [], "client_secret": "plaintext-client-secret-0123456789"
        }))
        .unwrap();
        assert!(!format!("{req:?}").contains("plaintext-client-secret"));
        let u: UserCreate = serde_json::from_value(serde_json::json!({
            "email": "a@b.example", "password": "hunter2-hunter2"
        }))
        .unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
        // The wire format is unchanged.
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["client_secret"], "plaintext-client-secret-0123456789");
    }
}
