//! Conformance cases for webhook endpoints and the delivery outbox: CRUD and health, the
//! deliveries an audit write queues (in the same write), leases, retries and giving up.
//!
//! Owns: what `WebhookStore` and `OutboxStore` promise. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::Duration;

fn endpoint(app: Option<&AppId>, events: &[EventType]) -> WebhookEndpoint {
    let t = now();
    WebhookEndpoint {
        id: WebhookId::generate(),
        url: "https://hooks.example.com/lobby".into(),
        app_id: app.cloned(),
        events: events.iter().copied().collect(),
        enabled: true,
        description: "test".into(),
        secret_sealed: "v1.sealed".into(),
        created_at: t,
        updated_at: t,
        health: DeliveryHealth::default(),
    }
}

fn member_added(org: &OrgId) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        time: now(),
        actor: "operator".into(),
        org_id: Some(org.clone()),
        action: "member.create".into(),
        target_type: "member".into(),
        target_id: "usr_x".into(),
        outcome: Outcome::Success,
        details: serde_json::json!({"before": null, "after": {"status": "active"}}),
        request_id: None,
    }
}

async fn queued(s: &Arc<dyn Storage>, w: &WebhookEndpoint) -> Vec<OutboxItem> {
    s.list_outbox(OutboxKind::Webhook, w.id.as_str(), &PageRequest::first(100))
        .await
        .unwrap()
        .items
}

pub async fn webhooks_crud(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    let w = endpoint(
        Some(&a.id),
        &[EventType::MemberAdded, EventType::OrgCreated],
    );
    s.create_webhook(&w).await.unwrap();
    assert_eq!(s.get_webhook(&w.id).await.unwrap().as_ref(), Some(&w));
    assert_duplicate(s.create_webhook(&w).await, "webhook id");
    let mut ghost = endpoint(
        Some(&AppId::parse("app_nope").unwrap()),
        &[EventType::OrgCreated],
    );
    ghost.id = WebhookId::generate();
    assert!(
        s.create_webhook(&ghost).await.is_err(),
        "an unknown app is refused"
    );

    let mut changed = w.clone();
    changed.url = "https://other.example.com/h".into();
    changed.enabled = false;
    changed.events = BTreeSet::from([EventType::SignInFailed]);
    changed.updated_at = now() + Duration::seconds(1);
    s.update_webhook(&changed).await.unwrap();
    assert_eq!(s.get_webhook(&w.id).await.unwrap().unwrap(), changed);
    assert_not_found(
        s.update_webhook(&endpoint(None, &[EventType::OrgCreated]))
            .await,
    );

    // Health: failures count up, a success resets them.
    let at = now();
    let fail = AttemptResult::Failed {
        status: Some(500),
        error: "HTTP 500".into(),
        permanent: false,
    };
    s.record_webhook_attempt(&w.id, &fail, at).await.unwrap();
    s.record_webhook_attempt(&w.id, &fail, at).await.unwrap();
    let h = s.get_webhook(&w.id).await.unwrap().unwrap().health;
    assert_eq!((h.last_status, h.consecutive_failures), (Some(500), 2));
    assert_eq!(h.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(h.last_attempt_at, Some(at));
    assert_eq!(h.last_success_at, None);
    s.record_webhook_attempt(&w.id, &AttemptResult::Delivered { status: 204 }, at)
        .await
        .unwrap();
    let h = s.get_webhook(&w.id).await.unwrap().unwrap().health;
    assert_eq!((h.last_status, h.consecutive_failures), (Some(204), 0));
    assert_eq!((h.last_error, h.last_success_at), (None, Some(at)));

    let other = endpoint(None, &[EventType::OrgCreated]);
    s.create_webhook(&other).await.unwrap();
    let all = s.list_webhooks(&PageRequest::first(1)).await.unwrap();
    assert_eq!(all.items.len(), 1);
    let rest = s
        .list_webhooks(&PageRequest {
            after: all.next.clone(),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_ne!(all.items[0].id, rest.items[0].id);

    // Deleting an endpoint takes its queued deliveries with it.
    let o = org(None);
    s.create_org(&o).await.unwrap();
    s.append_audit(&AuditEvent {
        action: "org.create".into(),
        ..member_added(&o.id)
    })
    .await
    .unwrap();
    assert_eq!(s.webhook_pending(&other.id).await.unwrap(), 1);
    s.delete_webhook(&other.id).await.unwrap();
    assert!(queued(&s, &other).await.is_empty());
    assert_not_found(s.delete_webhook(&other.id).await);
    // An app-scoped endpoint goes with its app.
    s.delete_app(&a.id, true).await.unwrap();
    assert_eq!(s.get_webhook(&w.id).await.unwrap(), None);
}

pub async fn audit_writes_queue_webhook_deliveries(s: Arc<dyn Storage>) {
    let a = app();
    s.create_app(&a).await.unwrap();
    let (linked, other) = (org(None), org(None));
    s.create_org(&linked).await.unwrap();
    s.create_org(&other).await.unwrap();
    s.create_link(&link(&linked.id, &a.id, &[])).await.unwrap();
    let all = endpoint(None, &[EventType::MemberAdded, EventType::SignInSucceeded]);
    let scoped = endpoint(Some(&a.id), &[EventType::MemberAdded]);
    let uninterested = endpoint(None, &[EventType::OrgCreated]);
    let mut disabled = endpoint(None, &[EventType::MemberAdded]);
    disabled.enabled = false;
    for w in [&all, &scoped, &uninterested, &disabled] {
        s.create_webhook(w).await.unwrap();
    }

    let e1 = member_added(&linked.id);
    let e2 = member_added(&other.id);
    s.append_audit(&e1).await.unwrap();
    // Through a declarative import's transaction too.
    s.apply_changes(&[Change::Audit(e2.clone())]).await.unwrap();
    // Not a webhook event: nothing queued.
    s.append_audit(&AuditEvent {
        action: "link.create".into(),
        ..member_added(&linked.id)
    })
    .await
    .unwrap();

    let ids = |v: Vec<OutboxItem>| v.into_iter().map(|i| i.event_id).collect::<BTreeSet<_>>();
    assert_eq!(
        ids(queued(&s, &all).await),
        BTreeSet::from([e1.id.to_string(), e2.id.to_string()])
    );
    assert_eq!(
        ids(queued(&s, &scoped).await),
        BTreeSet::from([e1.id.to_string()])
    );
    assert!(queued(&s, &uninterested).await.is_empty());
    assert!(queued(&s, &disabled).await.is_empty());

    let row = &queued(&s, &scoped).await[0];
    assert_eq!(row.state, OutboxState::Pending);
    assert_eq!((row.attempts, row.event_type.as_str()), (0, "member.added"));
    assert_eq!(row.payload, event_from_audit(&e1).unwrap().body());
    assert_eq!(row.next_attempt_at, e1.time);

    // A failing audit write queues nothing (the same transaction).
    let dup = AuditEvent {
        id: e1.id.clone(),
        ..member_added(&other.id)
    };
    assert!(
        s.append_audits(&[member_added(&other.id), dup])
            .await
            .is_err()
    );
    assert_eq!(queued(&s, &all).await.len(), 2);

    // Sign-ins, several events in one write.
    let ok = AuditEvent {
        action: "login.success".into(),
        details: serde_json::json!({"client_id": "c"}),
        ..member_added(&linked.id)
    };
    s.append_audits(&[ok.clone(), member_added(&linked.id)])
        .await
        .unwrap();
    assert_eq!(queued(&s, &all).await.len(), 4);

    // Enqueueing the same event for the same target again is a no-op.
    let again = queued(&s, &all).await[0].clone();
    s.enqueue(&[OutboxItem {
        id: OutboxId::generate(),
        ..again
    }])
    .await
    .unwrap();
    assert_eq!(queued(&s, &all).await.len(), 4);
}

pub async fn outbox_leases_and_retries(s: Arc<dyn Storage>) {
    let w = endpoint(None, &[EventType::OrgCreated]);
    s.create_webhook(&w).await.unwrap();
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let t0 = now() + Duration::seconds(1);
    s.append_audit(&AuditEvent {
        action: "org.create".into(),
        time: t0 - Duration::seconds(1),
        ..member_added(&o.id)
    })
    .await
    .unwrap();
    let lease = Duration::seconds(60);

    let got = s.claim_due("one", t0, lease, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    let id = got[0].id.clone();
    assert!(
        s.claim_due("two", t0, lease, 10).await.unwrap().is_empty(),
        "leased"
    );
    let fail = AttemptResult::Failed {
        status: Some(500),
        error: "HTTP 500".into(),
        permanent: false,
    };
    assert!(
        !s.finish_attempt(&id, "two", &fail, t0).await.unwrap(),
        "not two's lease"
    );
    assert!(s.finish_attempt(&id, "one", &fail, t0).await.unwrap());
    assert!(
        !s.finish_attempt(&id, "one", &fail, t0).await.unwrap(),
        "released"
    );

    let row = &queued(&s, &w).await[0];
    assert_eq!(
        (row.state, row.attempts, row.last_status),
        (OutboxState::Pending, 1, Some(500))
    );
    assert_eq!(row.next_attempt_at, t0 + backoff(1));
    assert!(
        s.claim_due("two", t0 + Duration::seconds(4), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let t1 = t0 + backoff(1);
    assert_eq!(s.claim_due("two", t1, lease, 10).await.unwrap().len(), 1);

    // "two" dies holding the lease; after it runs out, "three" takes the row.
    assert!(
        s.claim_due("three", t1 + Duration::seconds(59), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let t2 = t1 + lease;
    assert_eq!(s.claim_due("three", t2, lease, 10).await.unwrap().len(), 1);
    assert!(
        !s.finish_attempt(&id, "two", &fail, t2).await.unwrap(),
        "two lost its lease"
    );
    assert!(
        s.finish_attempt(&id, "three", &AttemptResult::Delivered { status: 200 }, t2)
            .await
            .unwrap()
    );
    let row = &queued(&s, &w).await[0];
    assert_eq!(
        (row.state, row.attempts, row.last_status),
        (OutboxState::Delivered, 2, Some(200))
    );
    assert_eq!(row.last_error, None);
    let later = t2 + Duration::days(2);
    assert!(
        s.claim_due("four", later, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "delivered rows stay delivered"
    );
    assert_eq!(s.webhook_pending(&w.id).await.unwrap(), 0);

    // A row that keeps failing is given up after MAX_ATTEMPTS.
    s.append_audit(&AuditEvent {
        action: "org.create".into(),
        time: later,
        ..member_added(&o.id)
    })
    .await
    .unwrap();
    let mut at = later;
    for n in 1..=MAX_ATTEMPTS {
        let got = s.claim_due("one", at, lease, 10).await.unwrap();
        assert_eq!(got.len(), 1, "attempt {n}");
        assert!(
            s.finish_attempt(&got[0].id, "one", &fail, at)
                .await
                .unwrap()
        );
        at += backoff(n);
    }
    let newest = &queued(&s, &w).await[0];
    assert_eq!(
        (newest.state, newest.attempts),
        (OutboxState::Failed, MAX_ATTEMPTS)
    );
    assert!(
        s.claim_due("one", at + Duration::days(30), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Retention: finished rows older than the cut go, pending ones never.
    s.append_audit(&AuditEvent {
        action: "org.create".into(),
        time: t0,
        ..member_added(&o.id)
    })
    .await
    .unwrap();
    assert_eq!(queued(&s, &w).await.len(), 3);
    let pruned = s.prune_outbox(later + Duration::days(365)).await.unwrap();
    assert_eq!(pruned, 2, "the delivered and the given-up row");
    let left = queued(&s, &w).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, OutboxState::Pending);
}

/// Two instances claiming at the same moment never get the same row.
pub async fn outbox_concurrent_claims_are_disjoint(s: Arc<dyn Storage>) {
    let w = endpoint(None, &[EventType::OrgCreated]);
    s.create_webhook(&w).await.unwrap();
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let events: Vec<AuditEvent> = (0..30)
        .map(|_| AuditEvent {
            action: "org.create".into(),
            ..member_added(&o.id)
        })
        .collect();
    s.append_audits(&events).await.unwrap();
    let at = now() + Duration::seconds(1);
    let mut tasks = Vec::new();
    for i in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_due(&format!("w{i}"), at, Duration::seconds(60), 30)
                .await
                .unwrap()
        }));
    }
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for t in tasks {
        for item in t.await.unwrap() {
            total += 1;
            assert!(seen.insert(item.id.clone()), "{} claimed twice", item.id);
        }
    }
    assert_eq!(total, 30, "every due row claimed once");
}

/// Whether any endpoint is enabled is cached for audit writes (issue 17): enabling, creating or
/// deleting an endpoint through the store counts from the very next audit write.
pub async fn webhook_changes_count_from_the_next_audit_write(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let mut w = endpoint(None, &[EventType::MemberAdded]);
    w.enabled = false;
    s.create_webhook(&w).await.unwrap();
    // No endpoint enabled: written without deliveries (and "none enabled" is now cached).
    s.append_audit(&member_added(&o.id)).await.unwrap();
    s.append_audit(&member_added(&o.id)).await.unwrap();
    assert!(queued(&s, &w).await.is_empty());

    // Enabled: the next write queues a delivery.
    w.enabled = true;
    s.update_webhook(&w).await.unwrap();
    let e1 = member_added(&o.id);
    s.append_audit(&e1).await.unwrap();
    let got: Vec<String> = queued(&s, &w)
        .await
        .into_iter()
        .map(|i| i.event_id)
        .collect();
    assert_eq!(got, vec![e1.id.to_string()]);

    // Deleted, then nothing enabled again; then a new endpoint: its first event is queued.
    s.delete_webhook(&w.id).await.unwrap();
    s.append_audit(&member_added(&o.id)).await.unwrap();
    let fresh = endpoint(None, &[EventType::MemberAdded]);
    s.create_webhook(&fresh).await.unwrap();
    let e2 = member_added(&o.id);
    s.append_audit(&e2).await.unwrap();
    let got: Vec<String> = queued(&s, &fresh)
        .await
        .into_iter()
        .map(|i| i.event_id)
        .collect();
    assert_eq!(got, vec![e2.id.to_string()]);
}
