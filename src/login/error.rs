//! How a browser step of the login fails: [`LoginError`] is the page the person sees (a fixed
//! [`PageError`], or a federated sentence with its status, the IdP's own description and a
//! link back to the app), the org to brand it with, and the audit event the failure records.
//!
//! Handlers do their work in a function returning `Result<Response, LoginError>` and use `?`;
//! the route handler ends with [`respond`], the one place that writes a failure's audit event
//! (async, so not in `IntoResponse`) and renders its page.
//!
//! Owns: the failure type and its audit-then-render exit. Must not touch: the wording of pages
//! (`pages`), what counts as a failure (the handlers).

use super::LoginCtx;
use super::flow::FlowError;
use crate::domain::{AuditEvent, AuditEventId, Org, OrgId, Outcome};
use crate::http::params::request_id;
use crate::i18n::{Lang, Msg};
use crate::pages::{PageError, error_page_in, sso_error_page, upstream_failure};
use crate::storage::StorageError;
use crate::upstream::UpstreamFailure;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// What the person is shown.
#[derive(Debug)]
enum Shown {
    /// A fixed page of `pages::PageError`.
    Page(PageError),
    /// The federated error page (`pages::sso`).
    Sso {
        status: StatusCode,
        message: Msg,
        /// What the IdP itself said (`error_description`), shown escaped and bounded.
        detail: Option<String>,
        /// A link back to the app carrying an OAuth error.
        back_url: Option<String>,
    },
}

/// The audit event a failure records: everything but the id, time and request id, which are
/// filled in when it is written.
#[derive(Debug)]
pub struct FailureAudit {
    pub org: Option<OrgId>,
    pub action: &'static str,
    /// Target type and id.
    pub target: (&'static str, String),
    pub outcome: Outcome,
    pub actor: String,
    pub details: Value,
}

/// A failed step of the browser login: the page, its branding, and an optional audit event.
#[derive(Debug)]
#[must_use = "a login error is answered with `respond` (which writes its audit event)"]
pub struct LoginError {
    shown: Shown,
    brand: Option<Org>,
    /// The flow's `ui_locales` language, when the failure happened inside a flow.
    ui_lang: Option<Lang>,
    audit: Option<FailureAudit>,
}

impl LoginError {
    /// A fixed page.
    pub fn page(e: PageError) -> Self {
        Self {
            shown: Shown::Page(e),
            brand: None,
            ui_lang: None,
            audit: None,
        }
    }

    /// The federated error page with a fixed sentence.
    pub fn sso(status: StatusCode, message: Msg) -> Self {
        Self {
            shown: Shown::Sso {
                status,
                message,
                detail: None,
                back_url: None,
            },
            brand: None,
            ui_lang: None,
            audit: None,
        }
    }

    /// The federated error page for a kind of upstream failure (`pages::upstream_failure`).
    pub fn upstream(kind: UpstreamFailure) -> Self {
        let (status, message) = upstream_failure(kind);
        Self::sso(status, message)
    }

    /// A storage failure: logged here, the "something went wrong" page — or, when the
    /// database is unreachable for now ([`StorageError::is_unavailable`]), the "temporarily
    /// unavailable" page (503).
    pub fn server<E: std::fmt::Display + 'static>(context: &'static str, e: &E) -> Self {
        tracing::error!(error = %e, context, "storage error in the login");
        let any: &dyn std::any::Any = e;
        match any.downcast_ref::<StorageError>() {
            Some(s) => Self::page(storage_page(s)),
            None => Self::page(PageError::Server),
        }
    }

    /// A state store failure: logged here, the "temporarily unavailable" page.
    pub fn unavailable(context: &'static str, e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, context, "state store error in the login");
        Self::page(PageError::Unavailable)
    }

    /// Show the page in the flow's `ui_locales` language (`Flow::ui_lang`), unless a language
    /// was already set.
    pub fn in_lang(mut self, lang: Option<Lang>) -> Self {
        self.ui_lang = self.ui_lang.or(lang);
        self
    }

    /// Brand the page with the org, when known.
    pub fn branded(mut self, org: Option<&Org>) -> Self {
        self.brand = org.cloned();
        self
    }

    /// What the IdP said, and a link back to the app (federated page only).
    pub fn with_idp_answer(mut self, said: Option<String>, back: Option<String>) -> Self {
        if let Shown::Sso {
            detail, back_url, ..
        } = &mut self.shown
        {
            *detail = said;
            *back_url = back;
        }
        self
    }

    /// Record `audit` when the failure is answered.
    pub fn audited(mut self, audit: FailureAudit) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The status of the page (for callers that decide on it, and tests).
    pub fn status(&self) -> StatusCode {
        match &self.shown {
            Shown::Page(e) => e.status(),
            Shown::Sso { status, .. } => *status,
        }
    }

    /// The sentence the page would show, in `lang`: for a step answered as JSON
    /// (`login::mfa::passkey`), whose script shows it in place of the page.
    pub fn sentence(&self, lang: Lang) -> String {
        match &self.shown {
            Shown::Page(e) => e.message().get(lang),
            Shown::Sso { message, .. } => message.get(lang),
        }
    }

    /// The page alone, without the audit event (for failures that record none, such as an
    /// extractor's rejection).
    pub fn render(&self, headers: &HeaderMap) -> Response {
        match &self.shown {
            Shown::Page(e) => error_page_in(*e, headers, self.brand.as_ref(), self.ui_lang),
            Shown::Sso {
                status,
                message,
                detail,
                back_url,
            } => sso_error_page(
                headers,
                self.brand.as_ref(),
                *status,
                *message,
                detail.as_deref(),
                back_url.clone(),
                self.ui_lang,
            ),
        }
    }

    /// Write the audit event (failures to record are logged, never fatal), then render.
    pub async fn respond(mut self, st: &LoginCtx, headers: &HeaderMap) -> Response {
        self.record(st, headers).await;
        self.render(headers)
    }

    /// The failure for an administrator (a test sign-in's result): the sentence a person
    /// would see, what the IdP said, and the audit event's reason and detail.
    pub fn for_admin(&self) -> (String, Option<String>, Option<String>) {
        let (sentence, said) = match &self.shown {
            Shown::Page(e) => (e.message().en(), None),
            Shown::Sso {
                message, detail, ..
            } => (message.en(), detail.clone()),
        };
        let audit = self.audit.as_ref().map(|a| &a.details);
        let reason = audit
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let detail = audit
            .and_then(|d| d.get("detail"))
            .filter(|d| !d.is_null())
            .map(|d| match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        (
            sentence,
            said,
            reason.map(|r| match detail {
                Some(d) => format!("{r}: {d}"),
                None => r,
            }),
        )
    }

    /// Write the audit event now, once (a failure answered by something other than its page).
    pub async fn record(&mut self, st: &LoginCtx, headers: &HeaderMap) {
        match (&self.audit, &self.shown) {
            (Some(a), _) => crate::ops::metrics::login_refused(a.action, &a.details),
            (None, Shown::Page(p)) => crate::ops::metrics::login_error_page(p.code()),
            (None, Shown::Sso { .. }) => crate::ops::metrics::login_error_page("sso"),
        }
        if let Some(a) = self.audit.take() {
            let ev = AuditEvent {
                id: AuditEventId::generate(),
                time: st.clock.now(),
                actor: a.actor,
                org_id: a.org,
                action: a.action.to_owned(),
                target_type: a.target.0.to_owned(),
                target_id: a.target.1,
                outcome: a.outcome,
                details: a.details,
                request_id: Some(request_id(headers)),
            };
            if let Err(e) = st.storage.append_audit(&ev).await {
                tracing::error!(error = %e, action = a.action, "cannot record an audit event");
            }
        }
    }
}

impl From<PageError> for LoginError {
    fn from(e: PageError) -> Self {
        Self::page(e)
    }
}

/// The fixed page for a storage failure: "temporarily unavailable" (503, `Retry-After`) while
/// the database cannot be reached ([`StorageError::is_unavailable`]), else "something went
/// wrong" (500).
pub fn storage_page(e: &StorageError) -> PageError {
    if e.is_unavailable() {
        PageError::Unavailable
    } else {
        PageError::Server
    }
}

/// A flow that cannot be used.
impl From<FlowError> for LoginError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Missing => Self::page(PageError::FlowExpired),
            FlowError::WrongBrowser => Self::page(PageError::WrongBrowser),
            FlowError::State(e) => Self::unavailable("flow", &e),
        }
    }
}

/// The end of every login route: the response, or the failure's audit event and page.
pub async fn respond(
    st: &LoginCtx,
    headers: &HeaderMap,
    result: Result<Response, LoginError>,
) -> Response {
    match result {
        Ok(r) => r,
        Err(e) => e.respond(st, headers).await,
    }
}
