//! SQLite specifics of the SQL store: connection setup (file creation, WAL, foreign keys, busy
//! timeout, synchronous=NORMAL; one connection for `sqlite::memory:`), the embedded migrations,
//! and how SQLite reports constraint violations.
//!
//! Owns: everything that differs between SQLite and PostgreSQL on the SQLite side.
//! Must not touch: queries (they live in `sql/` and are shared by both dialects).

use super::db::{Db, Fixed};
use super::dialect::Violation;
use super::lite::{LiteConn, OpenMode};
use sqlx::error::DatabaseError;
use std::path::PathBuf;
use std::time::Duration;

/// The schema, applied by `sql::SqlStore::connect`.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        5,
        "saml",
        include_str!("../../migrations/sqlite/0005_saml.sql"),
    ),
    (
        6,
        "rotation",
        include_str!("../../migrations/sqlite/0006_rotation.sql"),
    ),
    (
        7,
        "family first token",
        include_str!("../../migrations/sqlite/0007_family_first_token.sql"),
    ),
    (
        12,
        "invitation_delivery",
        include_str!("../../migrations/sqlite/0012_invitation_delivery.sql"),
    ),
    (
        13,
        "saml replay cache",
        include_str!("../../migrations/sqlite/0013_saml_seen.sql"),
    ),
    (
        14,
        "password resets",
        include_str!("../../migrations/sqlite/0014_password_resets.sql"),
    ),
    (
        15,
        "app admin api",
        include_str!("../../migrations/sqlite/0015_app_admin_api.sql"),
    ),
    (
        16,
        "webhooks",
        include_str!("../../migrations/sqlite/0016_webhooks.sql"),
    ),
    (
        17,
        "backchannel logout",
        include_str!("../../migrations/sqlite/0017_backchannel_logout.sql"),
    ),
    (
        18,
        "member search index",
        include_str!("../../migrations/sqlite/0018_member_search.sql"),
    ),
    (
        19,
        "mfa",
        include_str!("../../migrations/sqlite/0019_mfa.sql"),
    ),
    (
        20,
        "passkeys",
        include_str!("../../migrations/sqlite/0020_passkeys.sql"),
    ),
    (
        21,
        "shared domains",
        include_str!("../../migrations/sqlite/0021_shared_domains.sql"),
    ),
];

/// Connections of a file database. SQLite has one writer at a time; in WAL mode a reader runs
/// beside it, so two connections let reads go on during a write. More do not add throughput:
/// every statement already runs on its connection's worker thread, and each extra connection
/// adds thread wake-ups and its own page cache, which SQLite empties whenever another
/// connection writes (measured in docs/benchmarks-history.md: 8 connections cost ~10 % more CPU per token
/// request than 2; 1 measured the same as 2 per login, so 2 keep reads going during a write).
/// They are opened at start and kept (`db::Fixed`).
const FILE_MAX_CONNECTIONS: u32 = 2;
/// WAL pages written before a commit checkpoints them into the database file.
const WAL_CHECKPOINT_PAGES: u32 = 10_000;
/// How long a writer waits for the write lock before giving up with "database is locked".
const BUSY_TIMEOUT_MS: u32 = 10_000;

// Extended result codes (https://www.sqlite.org/rescode.html).
const SQLITE_CONSTRAINT_FOREIGNKEY: &str = "787";
const SQLITE_CONSTRAINT_PRIMARYKEY: &str = "1555";
const SQLITE_CONSTRAINT_UNIQUE: &str = "2067";

/// What a `sqlite:` URL names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Memory,
    File(PathBuf),
}

fn target(url: &str) -> anyhow::Result<Target> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| anyhow::anyhow!("not a sqlite: URL"))?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let memory_mode = query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "mode" && v == "memory")
    });
    if path == ":memory:" || path.is_empty() || memory_mode {
        return Ok(Target::Memory);
    }
    let decoded = percent_decode(path)?;
    Ok(Target::File(PathBuf::from(decoded)))
}

/// `%XX` decoding of the path part of the URL (sqlx decodes it the same way).
fn percent_decode(s: &str) -> anyhow::Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .ok_or_else(|| anyhow::anyhow!("invalid %-escape in the database path"))?;
            let hex = std::str::from_utf8(hex)?;
            out.push(u8::from_str_radix(hex, 16)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8(out)?)
}

/// How a file URL opens its database: `mode=ro` read-only, `mode=rw` an existing file, and
/// otherwise (`mode=rwc` or no mode) created when missing, so a new data dir works without setup.
/// An unknown mode is refused rather than guessed.
fn open_mode(url: &str) -> anyhow::Result<OpenMode> {
    let mode = url.split_once('?').and_then(|(_, q)| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "mode")
            .map(|(_, v)| v.into_owned())
    });
    match mode.as_deref() {
        None | Some("rwc") => Ok(OpenMode::Create),
        Some("rw") => Ok(OpenMode::Existing),
        Some("ro") => Ok(OpenMode::ReadOnly),
        Some(other) => Err(anyhow::anyhow!(
            "unknown SQLite mode {other:?} in the database URL (use ro, rw or rwc)"
        )),
    }
}

fn configure(conn: &mut LiteConn, memory: bool) -> Result<(), sqlx::Error> {
    // WAL lets readers run beside the single writer; NORMAL is durable across application
    // crashes in WAL mode and skips an fsync per commit. An in-memory database has no WAL.
    // The busy timeout first: switching to WAL needs a lock that another process (or an
    // instance of this one still shutting down) may hold for a moment.
    conn.exec(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))?;
    if !memory {
        conn.exec("PRAGMA journal_mode = WAL")?;
        conn.exec("PRAGMA synchronous = NORMAL")?;
        // Checkpoint after 10,000 WAL pages (~40 MB) instead of SQLite's 1,000: a checkpoint
        // copies the newest version of each page written since the last one, and a login
        // rewrites the same few hot pages (the refresh-token and audit tables' tails, their
        // indexes), so ten times fewer checkpoints copy far fewer pages per write. The
        // checkpoint and its fsync were 19 % of the CPU of a refresh grant at 1,000
        // (docs/perf-issue17.md, session 3). The WAL file is cut back to 64 MB after one.
        conn.exec(&format!(
            "PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}"
        ))?;
        conn.exec("PRAGMA journal_size_limit = 67108864")?;
    }
    conn.exec("PRAGMA foreign_keys = ON")?;
    Ok(())
}

/// Open the connections for a `sqlite:` URL, creating the database file (and its directory).
pub(crate) async fn connect(url: &str) -> anyhow::Result<Db> {
    let t = target(url)?;
    if let Target::File(path) = &t
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the database directory {}: {e}",
                dir.display()
            )
        })?;
    }
    let (path, memory) = match &t {
        Target::Memory => (None, true),
        Target::File(p) => (Some(p.as_path()), false),
    };
    let mode = if memory {
        OpenMode::Create
    } else {
        open_mode(url)?
    };
    // Every connection to `sqlite::memory:` is its own empty database: keep exactly one.
    let n = if memory { 1 } else { FILE_MAX_CONNECTIONS };
    // Opened and configured once, then kept for good (`db::Fixed`: a local file cannot drop a
    // connection).
    let mut conns = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let mut conn = LiteConn::open(path, mode)?;
        configure(&mut conn, memory)?;
        conns.push(conn);
    }
    Ok(Db::Fixed(Fixed::new(conns, ACQUIRE_TIMEOUT)))
}

/// How long a statement waits for a free connection before it fails (busy server).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Which constraint a SQLite error violated. SQLite names unique violations by their columns
/// ("UNIQUE constraint failed: orgs.slug"), which we turn into the index name used by both
/// dialects; foreign-key violations carry no detail.
pub(crate) fn classify(e: &dyn DatabaseError) -> Option<Violation> {
    let code = e.code()?;
    match code.as_ref() {
        SQLITE_CONSTRAINT_FOREIGNKEY => Some(Violation::ForeignKey),
        SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY => {
            let cols = e
                .message()
                .split_once("constraint failed: ")
                .map(|(_, c)| c.trim())
                .unwrap_or("");
            Some(Violation::Unique(constraint_of(cols).to_owned()))
        }
        _ => None,
    }
}

/// The constraint name (as in the PostgreSQL schema) for the column list SQLite reports.
fn constraint_of(cols: &str) -> &str {
    match cols {
        "apps.id" => "apps_pkey",
        "apps.client_id" => "apps_client_id_key",
        "roles.app_id, roles.value" => "roles_pkey",
        "role_groups.app_id, role_groups.id" => "role_groups_pkey",
        "role_group_roles.app_id, role_group_roles.group_id, role_group_roles.role_value" => {
            "role_group_roles_pkey"
        }
        "orgs.id" => "orgs_pkey",
        "webhook_endpoints.id" => "webhook_endpoints_pkey",
        "outbox.id" => "outbox_pkey",
        "outbox.kind, outbox.target, outbox.event_id" => "outbox_event_key",
        "orgs.slug" => "orgs_slug_key",
        "org_app_links.org_id, org_app_links.app_id" => "org_app_links_pkey",
        "link_role_groups.org_id, link_role_groups.app_id, link_role_groups.group_id" => {
            "link_role_groups_pkey"
        }
        "org_domains.org_id, org_domains.domain" => "org_domains_pkey",
        "org_domains.domain" => "org_domains_verified_key",
        "connections.id" => "connections_pkey",
        "users.id" => "users_pkey",
        "users.email" => "users_password_email_key",
        "password_resets.token_hash" => "password_resets_pkey",
        "external_identities.connection_id, external_identities.issuer, external_identities.subject" => {
            "external_identities_pkey"
        }
        "memberships.org_id, memberships.user_id" => "memberships_pkey",
        "invitations.id" => "invitations_pkey",
        "invitations.token_hash" => "invitations_token_hash_key",
        "audit_events.id" => "audit_events_pkey",
        "signing_keys.kid" => "signing_keys_pkey",
        "refresh_families.id" => "refresh_families_pkey",
        "refresh_tokens.hash" => "refresh_tokens_pkey",
        "mfa_totp.user_id" => "mfa_totp_pkey",
        "mfa_recovery_codes.user_id, mfa_recovery_codes.code_hash" => "mfa_recovery_codes_pkey",
        "mfa_remembered_devices.token_hash" => "mfa_remembered_devices_pkey",
        "passkeys.credential_id" => "passkeys_pkey",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(target("sqlite::memory:").unwrap(), Target::Memory);
        assert_eq!(target("sqlite://?mode=memory").unwrap(), Target::Memory);
        assert_eq!(
            target("sqlite:data/lobby.db").unwrap(),
            Target::File("data/lobby.db".into())
        );
        assert_eq!(
            target("sqlite:///tmp/a%20b/l.db?mode=rwc").unwrap(),
            Target::File("/tmp/a b/l.db".into())
        );
        assert!(target("postgres://x").is_err());
        assert!(target("sqlite:/tmp/%zz").is_err());
    }

    /// A file database is opened in WAL mode with the checkpoint interval and busy timeout set
    /// on every connection.
    #[tokio::test]
    async fn file_connections_are_configured() {
        use sqlx::Row;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let db = connect(&url).await.unwrap();
        for (pragma, want) in [
            ("journal_mode", "wal".to_owned()),
            ("wal_autocheckpoint", WAL_CHECKPOINT_PAGES.to_string()),
            ("busy_timeout", BUSY_TIMEOUT_MS.to_string()),
            ("foreign_keys", "1".to_owned()),
        ] {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {pragma}")))
                .fetch_one(&db)
                .await
                .unwrap();
            let got = row
                .try_get::<String, _>(0)
                .or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string()))
                .unwrap();
            assert_eq!(got, want, "{pragma}");
        }
    }

    #[test]
    fn a_file_is_created_unless_the_url_chooses_a_mode() {
        assert_eq!(open_mode("sqlite:a.db").unwrap(), OpenMode::Create);
        assert_eq!(
            open_mode("sqlite:a.db?cache=shared").unwrap(),
            OpenMode::Create
        );
        assert_eq!(
            open_mode("sqlite:a.db?mode=ro").unwrap(),
            OpenMode::ReadOnly
        );
        assert_eq!(
            open_mode("sqlite:a.db?mode=rw").unwrap(),
            OpenMode::Existing
        );
        assert!(open_mode("sqlite:a.db?mode=bogus").is_err());
    }

    #[test]
    fn unique_violations_name_the_constraint() {
        assert_eq!(constraint_of("orgs.slug"), "orgs_slug_key");
        assert_eq!(
            constraint_of("org_domains.domain"),
            "org_domains_verified_key"
        );
        assert_eq!(constraint_of("weird.col"), "weird.col");
    }
}
