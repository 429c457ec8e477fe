//! Conformance cases for Back-Channel Logout: an app's registration round-trips, and every
//! bulk revocation of refresh-token families queues, in its own transaction, one outbox row
//! per (registered app, SSO session) it ended — none for apps without a URI, none for families
//! already revoked.
//!
//! Owns: what `AppStore` and `RefreshStore` promise about back-channel logout. Must not touch:
//! backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;

async fn logouts(s: &Arc<dyn Storage>, app: &AppId) -> Vec<OutboxItem> {
    s.list_outbox(
        OutboxKind::BackchannelLogout,
        app.as_str(),
        &PageRequest::first(100),
    )
    .await
    .unwrap()
    .items
}

pub async fn revocations_queue_backchannel_logouts(s: Arc<dyn Storage>) {
    let (mut a, o, u) = seed_member(&s).await;
    // Registration round-trips through create and update.
    assert_eq!(
        s.get_app(&a.id).await.unwrap().unwrap().backchannel_logout,
        None
    );
    a.backchannel_logout = Some(BackchannelLogout {
        uri: "https://app.example/bcl?x=1".into(),
        session_required: true,
    });
    let a = s.update_app(&a).await.unwrap();
    assert_eq!(
        s.get_app(&a.id).await.unwrap().unwrap().backchannel_logout,
        a.backchannel_logout
    );
    // A second app, linked the same way, without a URI.
    let quiet = app();
    s.create_app(&quiet).await.unwrap();

    // Two families of `a` in session s1 (the app signed in twice), one in s2, one of `quiet`.
    let f1 = family(&a.id, &o.id, &u.id, "s1");
    let f2 = family(&a.id, &o.id, &u.id, "s1");
    let f3 = family(&a.id, &o.id, &u.id, "s2");
    let fq = family(&quiet.id, &o.id, &u.id, "s1");
    for f in [&f1, &f2, &f3, &fq] {
        s.create_family(f, &first_token(f).hash).await.unwrap();
    }
    assert_eq!(s.revoke_session_families("s1", now()).await.unwrap(), 3);
    let rows = logouts(&s, &a.id).await;
    assert_eq!(rows.len(), 1, "one row per app and session: {rows:?}");
    let n: LogoutNotice = serde_json::from_str(&rows[0].payload).unwrap();
    assert_eq!(
        n,
        LogoutNotice {
            sub: u.id.clone(),
            sid: "s1".into(),
            org_id: o.id.clone(),
        }
    );
    assert_eq!(rows[0].state, OutboxState::Pending);
    assert_eq!(rows[0].event_type, LOGOUT_EVENT_TYPE);
    assert!(logouts(&s, &quiet.id).await.is_empty(), "no URI, no row");

    // Already revoked families queue nothing again; the member's other session does.
    assert_eq!(
        s.revoke_member_families(&o.id, &u.id, None, now())
            .await
            .unwrap(),
        1
    );
    let rows = logouts(&s, &a.id).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.payload.contains("\"s2\"")));

    // Org-wide and user-wide revocations queue too.
    let f4 = family(&a.id, &o.id, &u.id, "s3");
    s.create_family(&f4, &first_token(&f4).hash).await.unwrap();
    assert_eq!(s.revoke_org_families(&o.id, None, now()).await.unwrap(), 1);
    let f5 = family(&a.id, &o.id, &u.id, "s4");
    s.create_family(&f5, &first_token(&f5).hash).await.unwrap();
    assert_eq!(s.revoke_user_families(&u.id, now()).await.unwrap(), 1);
    assert_eq!(logouts(&s, &a.id).await.len(), 4);
    // Nothing left to revoke: nothing queued.
    assert_eq!(s.revoke_user_families(&u.id, now()).await.unwrap(), 0);
    assert_eq!(logouts(&s, &a.id).await.len(), 4);

    // Unregistering stops new rows.
    let mut a2 = s.get_app(&a.id).await.unwrap().unwrap();
    a2.backchannel_logout = None;
    s.update_app(&a2).await.unwrap();
    let f6 = family(&a.id, &o.id, &u.id, "s5");
    s.create_family(&f6, &first_token(&f6).hash).await.unwrap();
    assert_eq!(s.revoke_session_families("s5", now()).await.unwrap(), 1);
    assert_eq!(logouts(&s, &a.id).await.len(), 4);
}
