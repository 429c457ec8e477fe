//! PostgreSQL specifics of the SQL store: how many connections, the embedded migrations, and how
//! PostgreSQL reports constraint violations (SQLSTATE 23505 unique, 23503 foreign key).
//!
//! Owns: everything that differs between SQLite and PostgreSQL on the PostgreSQL side.
//! Must not touch: queries (they live in `sql/` and are shared by both dialects).

use super::db::Db;
use super::dialect::Violation;
use super::held::{self, Held};
use sqlx::error::DatabaseError;
use std::time::Duration;

/// The schema, applied by `sql::SqlStore::connect`.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        5,
        "saml",
        include_str!("../../migrations/postgres/0005_saml.sql"),
    ),
    (
        6,
        "rotation",
        include_str!("../../migrations/postgres/0006_rotation.sql"),
    ),
    (
        7,
        "family first token",
        include_str!("../../migrations/postgres/0007_family_first_token.sql"),
    ),
    (
        12,
        "invitation_delivery",
        include_str!("../../migrations/postgres/0012_invitation_delivery.sql"),
    ),
    (
        13,
        "saml replay cache",
        include_str!("../../migrations/postgres/0013_saml_seen.sql"),
    ),
    (
        14,
        "password resets",
        include_str!("../../migrations/postgres/0014_password_resets.sql"),
    ),
    (
        15,
        "app admin api",
        include_str!("../../migrations/postgres/0015_app_admin_api.sql"),
    ),
    (
        16,
        "webhooks",
        include_str!("../../migrations/postgres/0016_webhooks.sql"),
    ),
    (
        17,
        "backchannel logout",
        include_str!("../../migrations/postgres/0017_backchannel_logout.sql"),
    ),
    (
        18,
        "member search index",
        include_str!("../../migrations/postgres/0018_member_search.sql"),
    ),
    (
        19,
        "mfa",
        include_str!("../../migrations/postgres/0019_mfa.sql"),
    ),
    (
        20,
        "passkeys",
        include_str!("../../migrations/postgres/0020_passkeys.sql"),
    ),
    (
        21,
        "shared domains",
        include_str!("../../migrations/postgres/0021_shared_domains.sql"),
    ),
];

const MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a pooled connection (a new one included) before it fails with
/// 503: short, so that while PostgreSQL is down or restarting requests fail fast instead of
/// piling up; a healthy pool hands one out in microseconds.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

// SQLSTATE codes (PostgreSQL manual, Appendix A "Class 23 — Integrity Constraint Violation").
const UNIQUE_VIOLATION: &str = "23505";
const FOREIGN_KEY_VIOLATION: &str = "23503";

/// The connection set for a `postgres://` URL. The first connection is opened here (not on
/// first use) so a wrong URL is reported at start.
pub(crate) async fn connect(url: &str) -> anyhow::Result<Db> {
    let held = Held::new(held::options(url)?, MAX_CONNECTIONS, ACQUIRE_TIMEOUT);
    drop(held.lease().await?);
    Ok(Db::Held(held))
}

/// Which constraint a PostgreSQL error violated, by constraint (or unique index) name.
pub(crate) fn classify(e: &dyn DatabaseError) -> Option<Violation> {
    let code = e.code()?;
    match code.as_ref() {
        UNIQUE_VIOLATION => Some(Violation::Unique(
            e.constraint().unwrap_or_default().to_owned(),
        )),
        FOREIGN_KEY_VIOLATION => Some(Violation::ForeignKey),
        _ => None,
    }
}
