//! The one `email_verified` rule (issue 13 item 3) through OIDC federation: the table in
//! `crate::email_table`, shared with the SAML tests.

use super::*;
use crate::email_table::{Domain, Flag, ROWS};

#[tokio::test]
async fn the_email_verified_table_through_oidc() {
    for (i, row) in ROWS.iter().enumerate() {
        let fed = Fed::start().await;
        let s = fed.st.storage.as_ref();
        if row.any_domain {
            let hooli = OrgId::parse("hooli").unwrap();
            let id = ConnectionId::parse("hooli-idp").unwrap();
            let mut c = s.get_connection(&hooli, &id).await.unwrap().unwrap();
            if let ConnectionConfig::Oidc(o) = &mut c.config {
                o.email_authority = EmailAuthority::AnyDomain;
            }
            s.update_connection(&c).await.unwrap();
        }
        let email = match row.domain {
            Domain::Own => format!("u{i}@hooli.test"),
            Domain::OtherOrg => format!("u{i}@pied.test"),
            Domain::Unowned => format!("u{i}@unowned.test"),
        };
        let sub = format!("rule-{i}");
        if row.flag == Flag::UserinfoOnly {
            *fed.op.st.userinfo.lock().unwrap() =
                json!({"sub": sub, "email": email, "email_verified": true});
        }
        let b = fed.browser();
        let (req, verifier) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
        let mut claims = fed.op.claims(&sub, &req.nonce, &email);
        if row.flag != Flag::Asserted {
            claims.as_object_mut().unwrap().remove("email_verified");
        }
        fed.op
            .will_answer("c1", &req.challenge, fed.op.key("rsa-1").sign(&claims));
        let r = fed
            .callback(
                &b,
                "hooli-idp",
                &[
                    ("code", "c1"),
                    ("state", &req.state),
                    ("iss", &fed.op.issuer()),
                ],
            )
            .await;
        let what = format!(
            "row {i}: {:?} {:?} any_domain={}",
            row.domain, row.flag, row.any_domain
        );
        if row.verified {
            assert_eq!(r.status, 303, "{what}: {}", r.body);
            let q = r.redirect_params();
            let t = fed.app_tokens(&q["code"], &verifier).await;
            let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
            assert_eq!(id["email"], email.as_str(), "{what}");
            assert_eq!(id["email_verified"], true, "{what}");
        } else {
            assert_refused(&b, &r, 403, "did not confirm your email address");
            assert_reason(&fed, "login.federated", "email_not_verified").await;
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
