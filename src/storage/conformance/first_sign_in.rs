//! Conformance case for a first federated sign-in: user, external identity, accepted invitation
//! and membership in one transaction. A failure at any step (a conflicting identity, a stale
//! invitation, a membership whose org is missing) leaves nothing behind and the invitation
//! pending.
//!
//! Owns: what `Storage::provision_first_sign_in` promises. Must not touch: backends.

use super::fixtures::*;
use crate::domain::*;
use crate::storage::*;
use std::sync::Arc;

/// A plan for a new user of `org` through `conn`, redeeming `inv`.
fn plan(org: &OrgId, conn: &ConnectionId, inv: &Invitation) -> FirstSignIn {
    let u = user(&format!("{}@acme.example", fresh("first")));
    FirstSignIn {
        identity: Some(ExternalIdentity {
            connection_id: conn.clone(),
            issuer: "https://idp.example.com".into(),
            subject: fresh("sub"),
            user_id: u.id.clone(),
            created_at: u.created_at,
        }),
        membership: membership(org, &u.id),
        invitation: Some(inv.clone()),
        user: Some(u),
        update_user: None,
        drop_invited: None,
    }
}

/// Nothing of `p` is stored and `inv` is as it was.
async fn nothing_left(s: &Arc<dyn Storage>, p: &FirstSignIn, inv: &Invitation) {
    let u = p.user.as_ref().unwrap();
    let i = p.identity.as_ref().unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap(), None, "no user");
    assert_eq!(
        identity_of(s, &i.connection_id, &i.issuer, &i.subject).await,
        None,
        "no identity"
    );
    assert_eq!(s.list_memberships_for_user(&u.id).await.unwrap(), vec![]);
    assert_eq!(
        s.get_invitation(&inv.org_id, &inv.id)
            .await
            .unwrap()
            .as_ref(),
        Some(inv),
        "the invitation is untouched"
    );
}

pub async fn first_sign_in_is_one_transaction(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let c = connection(&o.id);
    s.create_connection(&c).await.unwrap();
    let inv = invitation(&o.id);
    s.create_invitation(&inv).await.unwrap();

    // The identity is taken (a concurrent first sign-in won): fails at the second write.
    let taken = plan(&o.id, &c.id, &inv);
    s.create_user(taken.user.as_ref().unwrap()).await.unwrap();
    s.create_identity(taken.identity.as_ref().unwrap())
        .await
        .unwrap();
    let mut p = plan(&o.id, &c.id, &inv);
    p.identity = taken.identity.clone().map(|mut i| {
        i.user_id = p.user.as_ref().unwrap().id.clone();
        i
    });
    assert_duplicate(s.provision_first_sign_in(&p).await, "external identity");
    assert_eq!(
        s.get_user(&p.user.as_ref().unwrap().id).await.unwrap(),
        None
    );
    assert_eq!(
        s.get_invitation(&o.id, &inv.id).await.unwrap().as_ref(),
        Some(&inv)
    );

    // The invitation changed since it was read: fails at the third write.
    let p = plan(&o.id, &c.id, &inv);
    let mut stale = inv.clone();
    stale.version -= 1;
    let stale_plan = FirstSignIn {
        invitation: Some(stale),
        ..p.clone()
    };
    assert_conflict(s.provision_first_sign_in(&stale_plan).await);
    nothing_left(&s, &p, &inv).await;
    let mut gone = inv.clone();
    gone.id = InvitationId::generate();
    let gone_plan = FirstSignIn {
        invitation: Some(gone),
        ..p.clone()
    };
    assert_not_found(s.provision_first_sign_in(&gone_plan).await);
    nothing_left(&s, &p, &inv).await;

    // The membership's org is missing: fails at the last write, after the invitation was
    // accepted inside the transaction.
    let mut p = plan(&o.id, &c.id, &inv);
    p.membership.org_id = OrgId::generate();
    assert_missing(s.provision_first_sign_in(&p).await, "organization");
    nothing_left(&s, &p, &inv).await;

    // The same sign-in, whole: everything is stored and the invitation accepted once.
    let p = plan(&o.id, &c.id, &inv);
    s.provision_first_sign_in(&p).await.unwrap();
    let u = p.user.as_ref().unwrap();
    let i = p.identity.as_ref().unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap().as_ref(), Some(u));
    assert_eq!(
        identity_of(&s, &i.connection_id, &i.issuer, &i.subject)
            .await
            .as_ref(),
        Some(i)
    );
    assert_eq!(
        s.get_membership(&o.id, &u.id).await.unwrap(),
        Some(p.membership.clone())
    );
    let accepted = s.get_invitation(&o.id, &inv.id).await.unwrap().unwrap();
    assert_eq!(accepted.status, InvitationStatus::Accepted);
    assert_eq!(accepted.version, inv.version + 1);
    // Redeeming it again (a second tab with the same read) is refused, leaving nothing.
    let again = plan(&o.id, &c.id, &inv);
    assert_conflict(s.provision_first_sign_in(&again).await);
    assert_eq!(
        s.get_user(&again.user.as_ref().unwrap().id).await.unwrap(),
        None
    );

    // A known user without a membership: only the membership is new.
    let known = user(&format!("{}@acme.example", fresh("known")));
    s.create_user(&known).await.unwrap();
    let m = membership(&o.id, &known.id);
    s.provision_first_sign_in(&FirstSignIn {
        user: None,
        identity: None,
        invitation: None,
        membership: m.clone(),
        update_user: None,
        drop_invited: None,
    })
    .await
    .unwrap();
    assert_eq!(
        s.get_membership(&o.id, &known.id).await.unwrap(),
        Some(m.clone())
    );
    assert_duplicate(
        s.provision_first_sign_in(&FirstSignIn {
            user: None,
            identity: None,
            invitation: None,
            membership: m,
            update_user: None,
            drop_invited: None,
        })
        .await,
        "membership",
    );
}

/// An invitation made with an `invited` membership (created in one `apply_changes`), then
/// redeemed: the membership becomes active and the user is rewritten in the same transaction;
/// a membership in any other status is never overwritten; `drop_invited` removes only an
/// `invited` membership; `RemoveInvitedMembership` likewise.
pub async fn invited_memberships_are_activated_once(s: Arc<dyn Storage>) {
    let o = org(None);
    s.create_org(&o).await.unwrap();
    let invitee = user(&format!("{}@acme.example", fresh("invitee")));
    let mut inv = invitation(&o.id);
    inv.email = invitee.email.clone();
    inv.user_id = Some(invitee.id.clone());
    inv.app_id = Some(AppId::parse("app_x").unwrap());
    inv.inviter_name = Some("Ana Lima".into());
    let mut invited = membership(&o.id, &invitee.id);
    invited.status = MemberStatus::Invited;
    s.apply_changes(&[
        Change::UpsertUser(invitee.clone()),
        Change::UpsertMembership(invited.clone()),
        Change::CreateInvitation(inv.clone()),
    ])
    .await
    .unwrap();
    // The new fields round-trip.
    assert_eq!(
        s.get_invitation(&o.id, &inv.id).await.unwrap().as_ref(),
        Some(&inv)
    );
    assert_eq!(
        s.find_invitation_by_token(&inv.token_hash)
            .await
            .unwrap()
            .as_ref(),
        Some(&inv)
    );
    // A duplicate invitation in a batch fails the whole batch.
    let other = user(&format!("{}@acme.example", fresh("other")));
    let dup = s
        .apply_changes(&[
            Change::UpsertUser(other.clone()),
            Change::CreateInvitation(inv.clone()),
        ])
        .await;
    assert!(dup.is_err());
    assert_eq!(s.get_user(&other.id).await.unwrap(), None, "all or nothing");

    // Redeemed: the invited membership becomes active, the user is rewritten.
    let mut active = invited.clone();
    active.status = MemberStatus::Active;
    let mut profile = invitee.clone();
    profile.email_verified = true;
    profile.name = Some("Invitee".into());
    let p = FirstSignIn {
        user: None,
        identity: None,
        invitation: Some(inv.clone()),
        membership: active.clone(),
        update_user: Some(profile.clone()),
        drop_invited: None,
    };
    s.provision_first_sign_in(&p).await.unwrap();
    let m = s.get_membership(&o.id, &invitee.id).await.unwrap().unwrap();
    assert_eq!(m.status, MemberStatus::Active);
    assert_eq!(m.version, invited.version + 1);
    let u = s.get_user(&invitee.id).await.unwrap().unwrap();
    assert!(u.email_verified);
    assert_eq!(u.name.as_deref(), Some("Invitee"));
    assert_eq!(
        s.get_invitation(&o.id, &inv.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Accepted
    );

    // An active (or suspended) membership is never overwritten by a redemption.
    let mut inv2 = invitation(&o.id);
    inv2.user_id = Some(invitee.id.clone());
    s.create_invitation(&inv2).await.unwrap();
    let mut suspended = m.clone();
    suspended.status = MemberStatus::Suspended;
    let stored = s.update_membership(&suspended).await.unwrap();
    let p = FirstSignIn {
        invitation: Some(inv2.clone()),
        membership: active.clone(),
        update_user: None,
        ..p
    };
    assert_duplicate(s.provision_first_sign_in(&p).await, "membership");
    assert_eq!(
        s.get_membership(&o.id, &invitee.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        s.get_invitation(&o.id, &inv2.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Pending,
        "rolled back"
    );

    // drop_invited removes the invitation's own `invited` membership, not an active one.
    let placeholder = user(&format!("{}@acme.example", fresh("ph")));
    let known = user(&format!("{}@acme.example", fresh("known")));
    let mut ph_member = membership(&o.id, &placeholder.id);
    ph_member.status = MemberStatus::Invited;
    s.apply_changes(&[
        Change::UpsertUser(placeholder.clone()),
        Change::UpsertUser(known.clone()),
        Change::UpsertMembership(ph_member),
    ])
    .await
    .unwrap();
    let mut inv3 = invitation(&o.id);
    inv3.user_id = Some(placeholder.id.clone());
    s.create_invitation(&inv3).await.unwrap();
    let mut known_member = membership(&o.id, &known.id);
    known_member.status = MemberStatus::Active;
    s.provision_first_sign_in(&FirstSignIn {
        user: None,
        identity: None,
        invitation: Some(inv3),
        membership: known_member.clone(),
        update_user: None,
        drop_invited: Some(placeholder.id.clone()),
    })
    .await
    .unwrap();
    assert_eq!(
        s.get_membership(&o.id, &placeholder.id).await.unwrap(),
        None
    );
    assert_eq!(
        s.get_membership(&o.id, &known.id)
            .await
            .unwrap()
            .map(|m| m.status),
        Some(MemberStatus::Active)
    );
    s.apply_changes(&[Change::RemoveInvitedMembership(
        o.id.clone(),
        known.id.clone(),
    )])
    .await
    .unwrap();
    assert!(
        s.get_membership(&o.id, &known.id).await.unwrap().is_some(),
        "an active membership is never removed as invited"
    );
}
