//! The Audit log page of an org (`/portal/orgs/{org_id}/audit`): the org's events, newest
//! first, filtered by action, actor and a date range (GET parameters), a page at a time
//! (`?cursor=` / `?limit=` like the admin API).
//!
//! Owns: the page, reading the filter form. Must not touch: what is audited (every write
//! records its own event in `admin::service`), who may read it (the `PortalScope` extractor).

use super::view::FieldErrors;
use super::wording::date_time;
use super::{Layout, PortalError, PortalScope, Section};
use crate::admin::service::page_request;
use crate::domain::AuditEvent;
use crate::storage::AuditFilter;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime, Time};

mod say {
    use crate::i18n::Msg;
    pub const TITLE: Msg = Msg::new("portal-audit-title");
    pub const BAD_DATE: Msg = Msg::new("portal-audit-bad-date");
    pub const TO_BEFORE_FROM: Msg = Msg::new("portal-audit-to-before-from");
    pub const BAD_LIMIT: Msg = Msg::new("portal-audit-bad-limit");
}

/// An event's outcome in words.
fn outcome_words(o: crate::domain::Outcome) -> String {
    use crate::domain::Outcome;
    super::view::current_tr().msg(match o {
        Outcome::Success => crate::i18n::Msg::new("portal-audit-outcome-success"),
        Outcome::Failure => crate::i18n::Msg::new("portal-audit-outcome-failure"),
        Outcome::Denied => crate::i18n::Msg::new("portal-audit-outcome-denied"),
    })
}

/// Actions a person may want to filter by (the field takes any action).
pub const KNOWN_ACTIONS: &[&str] = &[
    "connection.create",
    "connection.delete",
    "connection.update",
    "domain.create",
    "domain.delete",
    "domain.recheck",
    "domain.verify",
    "invitation.accept",
    "invitation.create",
    "invitation.resend",
    "invitation.update",
    "link.create",
    "link.delete",
    "link.update",
    "login.failure",
    "login.success",
    "member.create",
    "member.delete",
    "member.update",
    "org.create",
    "org.update",
];

pub fn routes() -> Router<super::PortalCtx> {
    Router::new().route("/portal/orgs/{org_id}/audit", get(show))
}

/// `?action=&actor=&from=&to=&cursor=&limit=` (empty values mean "any").
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    /// `YYYY-MM-DD`, inclusive (UTC).
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD`, inclusive (UTC).
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub cursor: String,
    #[serde(default)]
    pub limit: String,
}

pub struct EventRow {
    pub id: String,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub failed: bool,
    /// Pretty JSON of the event's details.
    pub details: String,
}

impl EventRow {
    fn of(e: &AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            time: date_time(e.time),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: format!("{} {}", e.target_type, e.target_id),
            outcome: outcome_words(e.outcome),
            failed: e.outcome != crate::domain::Outcome::Success,
            details: serde_json::to_string_pretty(&e.details).unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/audit.html")]
pub struct AuditPage {
    pub l: Layout,
    pub base: String,
    pub q: AuditParams,
    pub errors: FieldErrors,
    pub events: Vec<EventRow>,
    /// Link to the next (older) page, with the same filters.
    pub older: Option<String>,
    /// Whether this is a later page (offer a link back to the newest events).
    pub paged: bool,
    /// The first page with the same filters.
    pub newest: String,
    pub actions: &'static [&'static str],
}

fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).ok()
}

/// The storage filter of the parameters, or the errors by field.
fn filter_of(q: &AuditParams) -> Result<AuditFilter, FieldErrors> {
    let mut errors = FieldErrors::default();
    let day = |s: &str, field: &str, errors: &mut FieldErrors| -> Option<OffsetDateTime> {
        if s.trim().is_empty() {
            return None;
        }
        match parse_date(s) {
            Some(d) => Some(d.with_time(Time::MIDNIGHT).assume_utc()),
            None => {
                errors.add(field, super::view::current_tr().msg(say::BAD_DATE));
                None
            }
        }
    };
    let from = day(&q.from, "from", &mut errors);
    // `to` is inclusive: events before the next midnight.
    let until = day(&q.to, "to", &mut errors).map(|t| t + Duration::days(1));
    if let (Some(f), Some(u)) = (from, until)
        && u <= f
    {
        errors.add("to", super::view::current_tr().msg(say::TO_BEFORE_FROM));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(AuditFilter {
        org_id: None,
        action: text(&q.action),
        actor: text(&q.actor),
        from,
        until,
    })
}

/// The query string of the filters, plus a cursor.
fn query_with(q: &AuditParams, cursor: &str) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("action", q.action.trim()),
        ("actor", q.actor.trim()),
        ("from", q.from.trim()),
        ("to", q.to.trim()),
        ("limit", q.limit.trim()),
        ("cursor", cursor),
    ] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

async fn show(ps: PortalScope, Query(q): Query<AuditParams>) -> Result<Response, PortalError> {
    let layout = ps.layout(&ps.tr().msg(say::TITLE), Section::Audit);
    let base = ps.href(Section::Overview);
    let mut page = AuditPage {
        l: layout,
        base: base.clone(),
        q: q.clone(),
        errors: FieldErrors::default(),
        events: Vec::new(),
        older: None,
        paged: !q.cursor.is_empty(),
        newest: format!("{base}/audit?{}", query_with(&q, "")),
        actions: KNOWN_ACTIONS,
    };
    let limit = match q.limit.trim() {
        "" => Ok(None),
        l => l.parse::<u32>().map(Some).map_err(|_| ()),
    };
    let req = limit
        .ok()
        .and_then(|l| page_request(l, Some(q.cursor.clone())).ok());
    let filter = filter_of(&q);
    let (filter, req) = match (filter, req) {
        (Ok(f), Some(r)) => (f, r),
        (f, r) => {
            page.errors = f.err().unwrap_or_default();
            if r.is_none() {
                page.errors.add("limit", ps.tr().msg(say::BAD_LIMIT));
            }
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    let found = ps.scope().db().audit_where(filter, &req).await?;
    page.events = found.items.iter().map(EventRow::of).collect();
    page.older = found
        .next
        .map(|c| format!("{base}/audit?{}", query_with(&q, &c)));
    Ok(page.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_and_to_is_inclusive() {
        let q = AuditParams {
            from: "2026-01-02".into(),
            to: "2026-01-02".into(),
            action: " org.update ".into(),
            ..Default::default()
        };
        let f = filter_of(&q).unwrap();
        assert_eq!(f.action.as_deref(), Some("org.update"));
        assert_eq!(f.until.unwrap() - f.from.unwrap(), Duration::days(1));
        let bad = AuditParams {
            from: "yesterday".into(),
            to: "2026-01-01".into(),
            ..Default::default()
        };
        assert!(filter_of(&bad).unwrap_err().has("from"));
        let reversed = AuditParams {
            from: "2026-01-03".into(),
            to: "2026-01-01".into(),
            ..Default::default()
        };
        assert!(filter_of(&reversed).unwrap_err().has("to"));
    }

    #[test]
    fn paging_links_keep_the_filters() {
        let q = AuditParams {
            action: "org.update".into(),
            actor: "user:usr_1 x".into(),
            ..Default::default()
        };
        assert_eq!(
            query_with(&q, "evt_9"),
            "action=org.update&actor=user%3Ausr_1+x&cursor=evt_9"
        );
    }
}
