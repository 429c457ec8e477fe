//! The one `email_verified` rule (issue 13 item 3) through SAML: the table in
//! `crate::email_table`, shared with the OIDC federation tests. SAML has no `email_verified`:
//! an asserted address is the IdP's word, so the rows with a missing flag or a userinfo-only
//! flag are OIDC-only.

use super::*;
use crate::email_table::{Domain, Flag, ROWS};

#[tokio::test]
async fn the_email_verified_table_through_saml() {
    for (i, row) in ROWS
        .iter()
        .enumerate()
        .filter(|(_, r)| r.flag == Flag::Asserted)
    {
        let e = env(false).await;
        let s = e.lobby.storage();
        // Another org, `globex`, verified globex.test (the fixture's seed).
        if row.any_domain {
            let mut c = s
                .get_connection(&org_id("umbrella"), &e.conn)
                .await
                .unwrap()
                .unwrap();
            if let ConnectionConfig::Saml(cfg) = &mut c.config {
                cfg.email_authority = EmailAuthority::AnyDomain;
            }
            s.update_connection(&c).await.unwrap();
        }
        let email = match row.domain {
            Domain::Own => format!("u{i}@umbrella.test"),
            Domain::OtherOrg => format!("u{i}@globex.test"),
            Domain::Unowned => format!("u{i}@unowned.test"),
        };
        let what = format!("row {i}: {:?} any_domain={}", row.domain, row.any_domain);
        let b = e.lobby.browser();
        let p = begin(&e, &b).await;
        let mut spec = e.spec(&p);
        spec.name_id_raw = email.clone();
        spec.attributes = vec![("email".into(), vec![email.clone()])];
        let r = post_acs(&e, &e.acs(), &corpus::good(&spec, &e.idp), &p.relay).await;
        let r = continue_in(&b, &r).await;
        if row.verified {
            let code = code_from(&r, &e.lobby.base, CRM_CB);
            let t = e.lobby.exchange(&code, &p.verifier).await;
            let id = jwt_claims(t["id_token"].as_str().unwrap());
            assert_eq!(id["email"], email.as_str(), "{what}");
            assert_eq!(id["email_verified"], true, "{what}");
        } else {
            assert_eq!(
                r.status,
                403,
                "{what}: {} {:?}",
                r.body,
                r.headers.get("location")
            );
            assert!(r.headers.get("location").is_none(), "{what}: no code");
            let users = s
                .list_users(
                    &lobby::storage::UserFilter::default(),
                    &PageRequest::first(50),
                )
                .await
                .unwrap();
            assert!(
                users.items.iter().all(|u| u.email.as_str() != email),
                "{what}: nobody provisioned"
            );
        }
    }
}
