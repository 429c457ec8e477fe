//! Unit tests of the SQLite connection: value typing, parameters, the statement cache, errors
//! and migrations, each checked against what sqlx-sqlite does.

use super::*;
use sqlx::Row;
use sqlx::migrate::Migration;
use sqlx_core::any::AnyArgumentBuffer;
use std::borrow::Cow;

fn args(v: Vec<AnyValueKind>) -> Option<AnyArguments> {
    Some(AnyArguments {
        values: AnyArgumentBuffer(v),
    })
}

fn run(c: &mut LiteConn, sql: &str, a: Vec<AnyValueKind>) -> Vec<AnyRow> {
    let p = c.take(sql, true).unwrap();
    c.run(p, args(a), Want::All)
        .unwrap()
        .into_iter()
        .filter_map(Either::right)
        .collect()
}

fn text(s: &str) -> AnyValueKind {
    AnyValueKind::Text(Arc::new(s.to_owned()))
}

/// Values come back typed as sqlx's `Any` driver types them over SQLite: by what is stored.
#[test]
fn values_are_typed_by_what_sqlite_stored() {
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    c.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        .unwrap();
    run(
        &mut c,
        "INSERT INTO t VALUES ($1, $2, $3, $4, $5)",
        vec![
            AnyValueKind::BigInt(-7),
            AnyValueKind::Double(1.5),
            text("grüße"),
            AnyValueKind::Blob(Arc::new(vec![0, 1, 2])),
            AnyValueKind::Null(AnyTypeInfoKind::Text),
        ],
    );
    let rows = run(&mut c, "SELECT i, r, s, b, n, i = 1 AS flag FROM t", vec![]);
    let r = &rows[0];
    assert_eq!(r.try_get::<i64, _>("i").unwrap(), -7);
    assert_eq!(r.try_get::<i32, _>(0).unwrap(), -7);
    assert_eq!(r.try_get::<f64, _>("r").unwrap(), 1.5);
    assert_eq!(r.try_get::<String, _>("s").unwrap(), "grüße");
    assert_eq!(r.try_get::<Vec<u8>, _>("b").unwrap(), vec![0, 1, 2]);
    assert_eq!(r.try_get::<Option<String>, _>("n").unwrap(), None);
    assert_eq!(r.try_get::<i64, _>("flag").unwrap(), 0);
    // A mismatch is an error, as with sqlx-sqlite.
    assert!(r.try_get::<String, _>("i").is_err());
    assert!(r.try_get::<i64, _>("missing").is_err());
}

/// `?`, `?NNN` and `$NNN`; anonymous parameters continue across the statements of one SQL
/// string; parameters left unbound are NULL; `rows_affected` is SQLite's `changes()`.
#[test]
fn parameters_statements_and_changes_as_sqlx_sqlite() {
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    c.exec("CREATE TABLE t (a INTEGER, b INTEGER)").unwrap();
    let p = c
        .take(
            "INSERT INTO t VALUES (?, ?); INSERT INTO t VALUES (?, ?2)",
            true,
        )
        .unwrap();
    let out = c
        .run(
            p,
            args(vec![
                AnyValueKind::BigInt(1),
                AnyValueKind::BigInt(2),
                AnyValueKind::BigInt(3),
            ]),
            Want::All,
        )
        .unwrap();
    assert_eq!(out.len(), 2, "one result per statement");
    let rows = run(&mut c, "SELECT a, b FROM t ORDER BY a", vec![]);
    let got: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect();
    assert_eq!(got, vec![(1, 2), (3, 2)]);
    let rows = run(
        &mut c,
        "SELECT ?1 AS x, ?2 AS y",
        vec![AnyValueKind::BigInt(9)],
    );
    assert_eq!(rows[0].try_get::<Option<i64>, _>("y").unwrap(), None);
    let p = c.take("UPDATE t SET b = b + 1", true).unwrap();
    let out = c.run(p, None, Want::All).unwrap();
    assert_eq!(out[0].as_ref().left().unwrap().rows_affected, 2);
    assert!(
        c.take("SELECT :name", false)
            .and_then(|p| c.run(p, args(vec![AnyValueKind::BigInt(1)]), Want::All))
            .is_err(),
        "named parameters are refused, as by sqlx-sqlite"
    );
}

/// Stopping at the first row leaves no read open, and the cached statement runs again.
#[test]
fn first_row_then_the_statement_runs_again_from_the_cache() {
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    c.exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3)")
        .unwrap();
    for _ in 0..3 {
        let p = c.take("SELECT v FROM t ORDER BY v", true).unwrap();
        let out = c.run(p, None, Want::FirstRow).unwrap();
        assert_eq!(out.len(), 1);
    }
    assert_eq!(c.cache.len(), 1, "prepared once, kept");
    // A write after an abandoned read is not blocked by it.
    assert_eq!(c.exec("DELETE FROM t").unwrap(), 3);
}

/// Constraint failures carry SQLite's extended code and message, which `sqlite::classify`
/// reads, and the kind sqlx reports.
#[test]
fn constraint_failures_keep_code_message_and_kind() {
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    c.exec("CREATE TABLE t (v TEXT UNIQUE)").unwrap();
    run(&mut c, "INSERT INTO t VALUES ($1)", vec![text("x")]);
    let p = c.take("INSERT INTO t VALUES ($1)", true).unwrap();
    let Err(sqlx::Error::Database(d)) = c.run(p, args(vec![text("x")]), Want::All) else {
        panic!("a unique violation is a database error")
    };
    assert_eq!(d.code().as_deref(), Some("2067"));
    assert_eq!(d.message(), "UNIQUE constraint failed: t.v");
    assert_eq!(d.kind(), ErrorKind::UniqueViolation);
    assert!(matches!(
        c.exec("SELEC nonsense"),
        Err(sqlx::Error::Database(_))
    ));
    // The connection still serves after both errors.
    assert_eq!(run(&mut c, "SELECT COUNT(*) FROM t", vec![]).len(), 1);
}

#[test]
fn writes_are_told_from_reads() {
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    c.exec("CREATE TABLE t (v INTEGER)").unwrap();
    assert!(!c.take("SELECT v FROM t", false).unwrap().writes());
    assert!(c.take("INSERT INTO t VALUES (1)", false).unwrap().writes());
    assert!(
        c.take("SELECT 1; DELETE FROM t", false).unwrap().writes(),
        "any statement of the string"
    );
}

/// A database migrated by sqlx-sqlite (before this module) is recognised: nothing re-runs,
/// and a new migration is applied on top.
#[tokio::test]
async fn databases_migrated_by_sqlx_sqlite_are_recognised() {
    use sqlx::migrate::{MigrationType, Migrator};
    use sqlx::{ConnectOptions, SqlSafeStr};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let m = |v: i64, sql: &'static str| {
        Migration::new(
            v,
            Cow::Borrowed("m"),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    let first = Migrator::with_migrations(vec![m(1, "CREATE TABLE a (v INTEGER)")]);
    {
        let mut old = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        first.run(&mut old).await.unwrap();
    }
    let both = Migrator::with_migrations(vec![
        m(1, "CREATE TABLE a (v INTEGER)"),
        m(2, "CREATE TABLE b (v INTEGER)"),
    ]);
    let mut c = LiteConn::open(Some(&path), OpenMode::Existing).unwrap();
    both.run_direct(None, &mut c, false).await.unwrap();
    let rows = run(
        &mut c,
        "SELECT version, success FROM _sqlx_migrations ORDER BY version",
        vec![],
    );
    assert_eq!(rows.len(), 2);
    // Run again: nothing to do; a changed script is refused (checksum).
    both.run_direct(None, &mut c, false).await.unwrap();
    let changed = Migrator::with_migrations(vec![m(1, "CREATE TABLE a (w INTEGER)")]);
    assert!(changed.run_direct(None, &mut c, false).await.is_err());
}

/// A failing migration leaves nothing behind (its script and bookkeeping are one
/// transaction).
#[tokio::test]
async fn a_failing_migration_is_rolled_back() {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{MigrationType, Migrator};
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    let bad = Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("bad"),
        MigrationType::Simple,
        "CREATE TABLE a (v INTEGER); INSERT INTO nowhere VALUES (1)".into_sql_str(),
        false,
    )]);
    assert!(bad.run_direct(None, &mut c, false).await.is_err());
    let rows = run(
        &mut c,
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'a'",
        vec![],
    );
    assert_eq!(rows[0].try_get::<i64, _>("n").unwrap(), 0);
}

/// A script whose later statements use what the earlier ones created (a migration) runs; its
/// statements are prepared one after another.
#[test]
fn a_script_prepares_each_statement_after_the_one_before_ran() {
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    c.exec(
        "CREATE TABLE a (v INTEGER); CREATE INDEX a_v ON a (v); INSERT INTO a VALUES (1); -- done",
    )
    .unwrap();
    let rows = run(&mut c, "SELECT v FROM a", vec![]);
    assert_eq!(rows.len(), 1);
    // And the same as a cached query, twice.
    for n in [1, 2] {
        let p = c
            .take(
                "CREATE TABLE IF NOT EXISTS b (v INTEGER); INSERT INTO b VALUES (?)",
                true,
            )
            .unwrap();
        c.run(p, args(vec![AnyValueKind::BigInt(n)]), Want::All)
            .unwrap();
    }
    assert_eq!(run(&mut c, "SELECT v FROM b", vec![]).len(), 2);
}

/// Asking for the first row never skips a later statement of the string.
#[test]
fn first_row_still_runs_every_statement() {
    let mut c = LiteConn::open(None, OpenMode::Create).unwrap();
    c.exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2)")
        .unwrap();
    let p = c
        .take("SELECT v FROM t ORDER BY v; INSERT INTO t VALUES (3)", true)
        .unwrap();
    let out = c.run(p, None, Want::FirstRow).unwrap();
    let rows: Vec<_> = out.into_iter().filter_map(Either::right).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get::<i64, _>(0).unwrap(), 1);
    assert_eq!(
        run(&mut c, "SELECT v FROM t", vec![]).len(),
        3,
        "the INSERT ran"
    );
}
