//! Org switch without signing in again (the refresh grant with `organization`): a new family
//! bound to the other org, the old family untouched (two tabs on two orgs), and each refusal
//! (not a member, unknown org, not linked, another IdP required, rotated token) as
//! `invalid_grant` with its description.

use super::fixture::*;
use lobby::domain::*;
use serde_json::Value;

async fn refresh(lobby: &Lobby, rt: &str, org: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(o) = org {
        form.push(("organization", o));
    }
    lobby.token(&form).await
}

fn rt(t: &Value) -> String {
    t["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn switching_org_opens_a_new_family_and_leaves_the_old_one_alone() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "bob@acme.test", Some("acme")).await;
    let t1 = lobby.exchange(&code, &verifier).await;
    let id1 = jwt_claims(t1["id_token"].as_str().unwrap());
    assert_eq!(id1["org_id"], "acme");
    let acme_rt = rt(&t1);

    // Tab 2 switches to globex (by slug).
    let (s, t2) = refresh(&lobby, &acme_rt, Some("globex")).await;
    assert_eq!(s, 200, "{t2}");
    let (_, id2) = lobby.verify_jwt(t2["id_token"].as_str().unwrap()).await;
    assert_eq!(id2["org_id"], "globex");
    assert_eq!(id2["org_slug"], "globex");
    assert_eq!(id2["roles"], serde_json::json!(["sales"]));
    assert_eq!(id2["sub"], "bob");
    assert_eq!(id2["sid"], id1["sid"], "the same SSO session");
    assert_eq!(id2["auth_time"], id1["auth_time"]);
    assert!(id2.get("nonce").is_none());
    let at2 = jwt_claims(t2["access_token"].as_str().unwrap());
    assert_eq!(at2["org_id"], "globex");
    let globex_rt = rt(&t2);
    assert_ne!(globex_rt, acme_rt);

    // Tab 1's token was not rotated: it still refreshes acme, and rotates as usual.
    let (s, t3) = refresh(&lobby, &acme_rt, None).await;
    assert_eq!(s, 200, "{t3}");
    assert_eq!(
        jwt_claims(t3["id_token"].as_str().unwrap())["org_id"],
        "acme"
    );
    // Tab 2's family stays bound to globex.
    let (s, t4) = refresh(&lobby, &globex_rt, None).await;
    assert_eq!(s, 200, "{t4}");
    assert_eq!(
        jwt_claims(t4["id_token"].as_str().unwrap())["org_id"],
        "globex"
    );
    let f_acme = lobby
        .storage()
        .find_refresh(&TokenHash::of(&rt(&t3)))
        .await
        .unwrap()
        .unwrap()
        .1;
    let f_globex = lobby
        .storage()
        .find_refresh(&TokenHash::of(&rt(&t4)))
        .await
        .unwrap()
        .unwrap()
        .1;
    assert_ne!(f_acme.id, f_globex.id);
    assert_eq!(f_globex.org_id, org_id("globex"));
    assert_eq!(
        f_globex.idp,
        Some(ConnectionId::parse("globex-pw").unwrap())
    );
    assert_eq!(f_globex.session_id, f_acme.session_id);
    assert!(
        f_globex.expires_at <= f_acme.expires_at,
        "no longer than the session"
    );

    // Switching back by org id works from the globex family too.
    let (s, t5) = refresh(&lobby, &rt(&t4), Some("acme")).await;
    assert_eq!(s, 200, "{t5}");
    assert_eq!(
        jwt_claims(t5["id_token"].as_str().unwrap())["org_id"],
        "acme"
    );

    // A rotated token cannot switch (within the grace window: refused, family kept).
    let (s, e) = refresh(&lobby, &acme_rt, Some("globex")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    // The parameter once only.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt(&t3)),
            ("organization", "acme"),
            ("organization", "globex"),
        ])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_request")),
        "{e}"
    );

    // Signing out ends every family of the session, whichever org.
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", t1["id_token"].as_str().unwrap())
        .finish();
    let r = b.get(&format!("/logout?{q}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for t in [&t3, &t4, &t5] {
        let (s, _) = refresh(&lobby, &rt(t), None).await;
        assert_eq!(s, 400);
    }
}

#[tokio::test]
async fn switching_is_refused_cleanly() {
    let lobby = Lobby::start().await;
    let s = lobby.storage();
    let now = lobby.clock.now();
    // umbrella: bob is a member, the org is not linked to crm.
    let mut umbrella = s.get_org(&org_id("globex")).await.unwrap().unwrap();
    umbrella.id = org_id("umbrella");
    umbrella.slug = Slug::parse("umbrella").unwrap();
    s.create_org(&umbrella).await.unwrap();
    let mut m = s
        .get_membership(&org_id("globex"), &user_id("bob"))
        .await
        .unwrap()
        .unwrap();
    m.org_id = org_id("umbrella");
    m.created_at = now;
    s.create_membership(&m).await.unwrap();
    // initech signs in through its own OIDC IdP only; bob is a member there too.
    m.org_id = org_id("initech");
    s.create_membership(&m).await.unwrap();

    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "bob@acme.test", Some("acme")).await;
    let t = lobby.exchange(&code, &verifier).await;
    let bob = rt(&t);
    for (org, why) in [
        (
            "umbrella",
            "That organization does not use this application.",
        ),
        (
            "initech",
            "That organization requires signing in through its own identity provider: send the user to /authorize with organization set to it.",
        ),
        (
            "nope",
            "The user is not an active member of that organization.",
        ),
        (
            "Not A Slug!",
            "The user is not an active member of that organization.",
        ),
    ] {
        let (s, e) = refresh(&lobby, &bob, Some(org)).await;
        assert_eq!(s, 400, "{org}: {e}");
        assert_eq!(e["error"], "invalid_grant", "{org}");
        assert_eq!(e["error_description"], why, "{org}");
    }
    // alice is not a member of globex.
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let (s, e) = refresh(&lobby, &rt(&t), Some("globex")).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(
        e["error_description"],
        "The user is not an active member of that organization."
    );
    // Nothing was created and bob's token is intact.
    let (s, t2) = refresh(&lobby, &bob, None).await;
    assert_eq!(s, 200, "{t2}");
    // A suspended membership cannot be switched to.
    let mut g = s_get(&lobby, "globex", "bob").await;
    g.status = MemberStatus::Suspended;
    lobby.storage().update_membership(&g).await.unwrap();
    let (s, e) = refresh(&lobby, &rt(&t2), Some("globex")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

async fn s_get(lobby: &Lobby, org: &str, user: &str) -> Membership {
    lobby
        .storage()
        .get_membership(&org_id(org), &user_id(user))
        .await
        .unwrap()
        .unwrap()
}
