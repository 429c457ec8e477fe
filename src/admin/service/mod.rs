//! The write logic of the admin API, shared by the HTTP handlers and by the declarative
//! import: turning request shapes into validated domain objects, checking the rules that span
//! several objects (against a [`View`] of the world), storing, auditing, and revoking refresh
//! tokens on the member events apps subscribe to (DESIGN §3).
//!
//! Owns: validation order, before/after audit summaries, revocation triggers.
//! Must not touch: HTTP details (status codes are chosen by `ServiceError`'s kind only),
//! storage internals, authentication (callers are already scoped when they get here).
//!
//! Layout: `error` (the error type and its HTTP mapping), `context` (the [`Ctx`] every write
//! goes through, audit records, the optimistic-concurrency retry), `page` (pagination and
//! whole listings), `view` (the [`View`] the cross-object rules read), `rules` (those rules),
//! `revoke` (member events → refresh-token revocation), and one file per aggregate with its
//! builder (request shape → validated domain object) and its writes: `apps`, `roles` (roles
//! and role groups), `orgs`, `links`, `domains`, `connections`, `users`, `members`,
//! `invitations`, `webhooks`. Everything public is re-exported here: callers name `service::X`.

mod apps;
mod connections;
mod context;
mod domains;
mod error;
mod invitations;
mod links;
mod members;
mod orgs;
mod page;
mod revoke;
mod roles;
mod rules;
mod users;
mod view;
mod webhooks;

pub use apps::*;
pub use connections::*;
pub use context::*;
pub use domains::*;
pub use error::*;
pub use invitations::*;
pub use links::*;
pub use members::*;
pub use orgs::*;
pub use page::*;
pub use revoke::*;
pub use roles::*;
pub use rules::*;
pub use users::*;
pub use view::*;
pub use webhooks::*;
