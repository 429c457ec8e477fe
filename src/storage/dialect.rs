//! What the SQL store and the two dialect modules share: which dialect a URL names, and a
//! constraint violation as either dialect reports it. Both sides import this file, so the
//! queries (`sql/`) depend on the dialects (`sqlite.rs`, `postgres.rs`) and never the reverse.
//!
//! Owns: the dialect-neutral types. Must not touch: connecting, migrations, queries.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect a database URL names.
    pub fn of_url(url: &str) -> anyhow::Result<Dialect> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL: expected sqlite:<path>, sqlite::memory: or postgres://…"
            )
        }
    }
}

/// A constraint violation, as reported by either dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// The name of the violated unique constraint or index (PostgreSQL naming).
    Unique(String),
    ForeignKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_by_url() {
        assert_eq!(Dialect::of_url("sqlite::memory:").unwrap(), Dialect::Sqlite);
        assert_eq!(
            Dialect::of_url("sqlite:///var/lib/lobby/lobby.db?mode=rwc").unwrap(),
            Dialect::Sqlite
        );
        assert_eq!(
            Dialect::of_url("postgresql://u@h/db").unwrap(),
            Dialect::Postgres
        );
        assert!(Dialect::of_url("mysql://h/db").is_err());
    }
}
