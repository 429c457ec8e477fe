//! The admin portal over HTTP: sign-in through Lobby itself (the built-in `lobby-portal`
//! client, session fixation), CSRF on every POST, the rights of org roles (a `member_admin`
//! gets 404 on settings, an admin of another org gets 404 on every page), timeouts, and the
//! Members and Invitations pages' writes.
//!
//! Uses the provider fixture (`provider::fixture`: seeded tenant, `ManualClock`, a browser that
//! keeps cookies and never follows redirects). Operators act as people in the audit log.

mod access;
mod connections;
mod language;
mod members;
mod session;
mod test_failures;

use crate::provider::fixture::{Browser, Lobby, PASSWORD, Resp, org_id, user_id};
use lobby::domain::*;

/// The portal cookie on plain http loopback (the tests' portal URL).
pub const COOKIE: &str = "lobby-portal";

/// Start at `path` signed out and follow every redirect, signing in as `email` with the
/// password on the hosted pages; returns the callback's response (a redirect back into the
/// portal) or the page where it stopped.
pub async fn sign_in_at(b: &Browser, path: &str, email: &str) -> Resp {
    let mut r = b.get(path).await;
    for _ in 0..10 {
        if r.status != 303 {
            return r;
        }
        let loc = r.location();
        if let Some(flow) = loc.strip_prefix("/login?flow=") {
            r = b.sign_in(flow, email, PASSWORD).await;
            continue;
        }
        if loc.contains("/portal/callback") {
            return b.get(&loc).await;
        }
        if !loc.starts_with("/portal/login") && loc.starts_with("/portal") {
            return r;
        }
        r = b.get(&loc).await;
    }
    panic!("too many redirects");
}

/// A browser signed in to the portal as `email`.
pub async fn signed_in(lobby: &Lobby, email: &str) -> Browser {
    let b = lobby.browser();
    let r = sign_in_at(&b, "/portal/login", email).await;
    assert_eq!(r.status, 303, "sign-in did not finish: {}", r.body);
    assert!(r.location().starts_with("/portal"), "{}", r.location());
    b
}

/// The CSRF token of a portal page (every page's sign-out form carries it).
pub async fn csrf(b: &Browser, path: &str) -> String {
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.hidden("_csrf")
}

/// Make `user` hold exactly `roles` as org roles in `org` (seeding through storage).
pub async fn set_org_roles(lobby: &Lobby, org: &str, user: &str, roles: &[OrgRole]) {
    let s = lobby.storage();
    let mut m = s
        .get_membership(&org_id(org), &user_id(user))
        .await
        .unwrap()
        .unwrap();
    m.org_roles = roles.iter().copied().collect();
    s.update_membership(&m).await.unwrap();
}

/// A new user with a password and an active membership of `org` with `roles`.
pub async fn add_admin(lobby: &Lobby, id: &str, email: &str, org: &str, roles: &[OrgRole]) {
    let s = lobby.storage();
    let now = lobby.clock.now();
    s.create_user(&User {
        id: user_id(id),
        email: Email::parse(email).unwrap(),
        email_verified: true,
        name: Some(id.to_uppercase()),
        password_hash: Some(hash_password(PASSWORD).unwrap()),
        version: 1,
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    s.create_membership(&Membership {
        org_id: org_id(org),
        user_id: user_id(id),
        status: MemberStatus::Active,
        roles: Default::default(),
        org_roles: roles.iter().copied().collect(),
        version: 1,
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
}
