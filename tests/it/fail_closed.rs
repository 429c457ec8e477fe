//! Fail closed (DESIGN §5, issue 13): with a state store whose `take`, `put_if_absent` and
//! `incr` fail, the password check and the SAML ACS answer with an error page — never a code,
//! never an SSO session. (`/token` is covered with the provider tests.)

use crate::provider::fixture::*;
use std::sync::Arc;

async fn lobby_on_failing_state() -> (Lobby, Arc<FailingState>) {
    let clock: Arc<dyn lobby::domain::Clock> = Arc::new(lobby::domain::SystemClock);
    let fs = Arc::new(FailingState::new(lobby::state::MemoryState::new(clock)));
    let lobby = Lobby::boot(Backends {
        state: Some(fs.clone()),
        config: Some(no_rate_limits),
        ..Backends::default()
    })
    .await;
    (lobby, fs)
}

/// The rate limiter also counts with `incr` and fails closed first; off here, so that the
/// checks behind it are what answers.
pub(crate) fn no_rate_limits(c: &mut lobby::config::Config) {
    c.rate_limit_per_ip = 0;
    c.rate_limit_global = 0;
}

fn assert_no_sign_in(b: &Browser, r: &Resp, what: &str) {
    assert!(r.status >= 500, "{what}: status {} {}", r.status, r.body);
    assert!(
        r.headers.get("location").is_none(),
        "{what}: no redirect, no code"
    );
    assert!(
        b.cookie("lobby_session").is_none(),
        "{what}: no SSO session"
    );
}

#[tokio::test]
async fn the_password_check_fails_closed_when_the_attempt_counter_is_down() {
    let (lobby, fs) = lobby_on_failing_state().await;
    let b = lobby.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let csrf = b.to_password_page(&flow, "alice@acme.test").await;
    fs.fail();
    let r = b
        .post(
            "/login/password",
            &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_no_sign_in(&b, &r, "right password, counter down");
}
