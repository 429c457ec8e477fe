//! The member search behind the member lists (portal and admin API): the org's memberships
//! joined with their users, narrowed by a [`MemberFilter`] and keyset-paginated by user id, all
//! in one query. Roles are JSON TEXT columns, so "holds role R in app A" is asked per dialect:
//! SQLite with `json_each`, PostgreSQL with `jsonb` containment (both over the same canonical
//! JSON that `values.rs` writes).
//!
//! Owns: the search's WHERE clause. Must not touch: membership writes (`members.rs`).

use super::Dialect;
use super::members::{MEMBERSHIP_COLS, membership_from_p};
use super::query::*;
use super::users::{USER_COLS, user_from_p};
use crate::domain::OrgId;
use crate::storage::{MemberFilter, MemberRow, Result};
use sqlx::any::AnyRow;

pub(super) const U: Prefix = Prefix("u_");
pub(super) const M: Prefix = Prefix("m_");

/// `SELECT <columns> FROM memberships m JOIN users u … WHERE m.org_id = $1 AND <filter>`.
pub(super) fn filtered(select: &str, dialect: Dialect, org: &OrgId, f: &MemberFilter) -> DynQuery {
    let mut q = DynQuery::new(&format!(
        "SELECT {select} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = "
    ));
    q.text(org.as_str());
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", like_escape(&s.to_ascii_lowercase()));
        q.push(" AND (lower(u.email) LIKE ")
            .text(&pattern)
            .push(" ESCAPE '\\' OR lower(COALESCE(u.name, '')) LIKE ")
            .text(&pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(st) = f.status {
        q.push(" AND m.status = ").text(st.as_str());
    }
    match dialect {
        Dialect::Sqlite => {
            if let Some(r) = f.org_role {
                q.push(" AND EXISTS (SELECT 1 FROM json_each(m.org_roles) o WHERE o.value = ")
                    .text(r.as_str())
                    .push(")");
            }
            if let Some(a) = &f.app {
                q.push(
                    " AND EXISTS (SELECT 1 FROM json_each(m.roles) a \
                     WHERE json_array_length(a.value) > 0 AND a.key = ",
                )
                .text(a.as_str())
                .push(")");
            }
            if let Some((a, r)) = &f.app_role {
                q.push(
                    " AND EXISTS (SELECT 1 FROM json_each(m.roles) a, json_each(a.value) r \
                     WHERE a.key = ",
                )
                .text(a.as_str())
                .push(" AND r.value = ")
                .text(r.as_str())
                .push(")");
            }
        }
        Dialect::Postgres => {
            if let Some(r) = f.org_role {
                q.push(" AND m.org_roles::jsonb @> jsonb_build_array(")
                    .text(r.as_str())
                    .push("::text)");
            }
            if let Some(a) = &f.app {
                q.push(" AND jsonb_array_length(COALESCE(m.roles::jsonb -> ")
                    .text(a.as_str())
                    .push("::text, '[]'::jsonb)) > 0");
            }
            if let Some((a, r)) = &f.app_role {
                q.push(" AND m.roles::jsonb @> jsonb_build_object(")
                    .text(a.as_str())
                    .push("::text, jsonb_build_array(")
                    .text(r.as_str())
                    .push("::text))");
            }
        }
    }
    q
}

/// The select list of a search page.
pub(super) fn row_columns() -> String {
    format!(
        "{}, {}",
        aliased(MEMBERSHIP_COLS, "m", M),
        aliased(USER_COLS, "u", U)
    )
}

pub(super) fn row_from(r: &AnyRow) -> Result<MemberRow> {
    Ok(MemberRow {
        membership: membership_from_p(r, M)?,
        user: user_from_p(r, U)?,
    })
}

/// `%`, `_` and the escape character itself, matched literally (`ESCAPE '\'`).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_escape("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(like_escape("plain"), "plain");
    }
}
