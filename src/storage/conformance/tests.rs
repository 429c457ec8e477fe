//! Runs every case of the storage conformance suite against each backend, each case on a
//! fresh database: SQLite file, SQLite memory, PostgreSQL when `LOBBY_TEST_DATABASE_URL` is set.
//!
//! Owns: opening (and for PostgreSQL creating and dropping) a database per case. Must not
//! touch: what the cases assert.

use crate::storage::{Storage, open};
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

async fn on_sqlite_file<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Storage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist yet: opening creates it.
    let path = dir.path().join("data dir").join("lobby.db");
    let url = format!("sqlite:{}", path.display());
    let store = open(&url).await.unwrap();
    assert_eq!(store.dialect(), "sqlite");
    case(store).await;
    // Re-opening applies no migration twice and finds the data.
    let again = open(&url).await.unwrap();
    again.ping().await.unwrap();
}

async fn on_sqlite_memory<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Storage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = open("sqlite::memory:").await.unwrap();
    case(store).await;
}

/// A fresh database per case, created through `LOBBY_TEST_DATABASE_URL` and dropped after.
async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Storage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(base) = std::env::var("LOBBY_TEST_DATABASE_URL") else {
        eprintln!("note: LOBBY_TEST_DATABASE_URL is not set; PostgreSQL case not run");
        return;
    };
    let db = pg::TestDb::create(&base)
        .await
        .unwrap_or_else(|e| panic!("LOBBY_TEST_DATABASE_URL is set but unusable: {e:#}"));
    let outcome = AssertUnwindSafe(async {
        let store = open(&db.url).await.unwrap();
        assert_eq!(store.dialect(), "postgres");
        case(store).await;
    })
    .catch_unwind()
    .await;
    db.drop_db().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

mod pg {
    use anyhow::Context;
    use sqlx::{AnyConnection, Connection, Executor};

    pub struct TestDb {
        admin_url: String,
        name: String,
        pub url: String,
    }

    impl TestDb {
        pub async fn create(base: &str) -> anyhow::Result<TestDb> {
            sqlx::any::install_default_drivers();
            let name = format!(
                "lobby_t_{}",
                ulid::Ulid::new().to_string().to_ascii_lowercase()
            );
            let mut admin = AnyConnection::connect(base)
                .await
                .context("connecting to PostgreSQL")?;
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .context("CREATE DATABASE")?;
            admin.close().await.ok();
            let mut url = url::Url::parse(base).context("parsing the URL")?;
            url.set_path(&format!("/{name}"));
            Ok(TestDb {
                admin_url: base.to_owned(),
                name,
                url: url.to_string(),
            })
        }

        pub async fn drop_db(&self) {
            let mut admin = AnyConnection::connect(&self.admin_url)
                .await
                .expect("reconnecting to drop the test database");
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .await
                .expect("DROP DATABASE");
            admin.close().await.ok();
        }
    }
}

macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::on_sqlite_file(super::super::$case).await;
                }
            )*
        }
        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::on_sqlite_memory(super::super::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::on_postgres(super::super::$case).await;
                }
            )*
        }
    };
}

on_every_backend!(
    ping_and_dialect,
    apps_crud,
    roles_and_groups,
    orgs_crud,
    org_tree,
    links_crud,
    domains_and_discovery,
    shared_domain_mark,
    lookups_by_email,
    connections_crud,
    users_and_identities,
    memberships,
    member_search,
    invitations,
    two_org_isolation,
    stale_versions_conflict,
    concurrent_writers_lose_nothing,
    refresh_rotation,
    refresh_rotation_in_one_step,
    refresh_family_created_in_one_step,
    refresh_concurrent_rotation,
    refresh_revocation,
    keys_crud,
    saml_state,
    saml_replay_cache,
    audit_newest_first,
    apply_changes_all_or_nothing,
    first_sign_in_is_one_transaction,
    invited_memberships_are_activated_once,
    pagination,
    timestamps_round_trip,
    password_user_is_found_among_many_with_its_email,
    password_reset_is_single_use,
    passkeys_per_user,
    revoke_every_family_of_a_user,
    webhooks_crud,
    audit_writes_queue_webhook_deliveries,
    webhook_changes_count_from_the_next_audit_write,
    outbox_leases_and_retries,
    outbox_concurrent_claims_are_disjoint,
    revocations_queue_backchannel_logouts,
    mfa_factors_and_codes,
    mfa_remembered_devices_and_reset,
    mfa_policy_round_trips,
);

#[tokio::test]
async fn unknown_urls_are_refused() {
    let err = open("mysql://localhost/x").await.err().unwrap();
    assert!(err.to_string().contains("unsupported database URL"));
}
