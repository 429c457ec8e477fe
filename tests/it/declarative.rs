//! Declarative import/export: the example round-trips, imports are idempotent and
//! all-or-nothing, errors name the line or field, and the admin API sees what was imported.

use crate::harness::{TestApp, fresh_storage};
use lobby::admin::declarative::{ImportError, export, import, import_sealed};
use lobby::domain::{AppId, TokenHash};
use lobby::storage::Storage;
use reqwest::StatusCode;
use serde_json::{Value, json};

const EXAMPLE: &str = include_str!("../../examples/tenant.yaml");

/// Export plus the number of audit events: equal snapshots mean nothing changed.
async fn snapshot(s: &dyn Storage) -> (String, usize) {
    let mut n = 0;
    let mut req = lobby::storage::PageRequest::first(500);
    loop {
        let page = s.list_audit(&Default::default(), &req).await.unwrap();
        n += page.items.len();
        match page.next {
            Some(next) => req.after = Some(next),
            None => break,
        }
    }
    (export(s).await.unwrap(), n)
}

/// The document without the fields that are secrets in one direction or the other.
fn without_secrets(yaml: &str) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["client_secret", "client_secret_hash", "password"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: Value = serde_norway::from_str(yaml).unwrap();
    strip(&mut v);
    v
}

/// 1-based line of the `nth` (0-based) line containing `needle`.
fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .unwrap()
        .0
        + 1
}

#[tokio::test]
async fn example_imports_exports_and_round_trips() {
    let (s1, _d1) = fresh_storage().await;
    let summary = import(s1.as_ref(), EXAMPLE, "import").await.unwrap();
    // 1 app, 3 roles, 2 groups, 3 orgs, 4 domains, 3 links, 3 connections, 4 users, 5 members.
    assert_eq!(summary.created, 28, "{summary:?}");
    assert_eq!((summary.updated, summary.unchanged), (0, 0));
    assert!(summary.to_string().contains("28 created"));
    let e1 = export(s1.as_ref()).await.unwrap();

    // The export is the example, apart from secrets.
    assert_eq!(
        without_secrets(&e1),
        without_secrets(EXAMPLE),
        "export:\n{e1}"
    );
    assert!(e1.contains("client_secret_hash"));
    assert!(!e1.contains("crm-demo-secret"));
    assert!(!e1.contains("password:"));
    assert!(!e1.contains("argon2"));

    // Import the export into a fresh database: the same export comes out.
    let (s2, _d2) = fresh_storage().await;
    import(s2.as_ref(), &e1, "import").await.unwrap();
    let e2 = export(s2.as_ref()).await.unwrap();
    assert_eq!(e1, e2);
    // The client secret survives as its hash.
    let app = s2
        .get_app(&AppId::parse("app_crm").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.client_secret_hash
            .unwrap()
            .verify("crm-demo-secret-0123456789-abcdefghij")
    );
}

#[tokio::test]
async fn a_second_import_changes_nothing() {
    let (s, _d) = fresh_storage().await;
    let first = import(s.as_ref(), EXAMPLE, "import").await.unwrap();
    let before = snapshot(s.as_ref()).await;
    let second = import(s.as_ref(), EXAMPLE, "import").await.unwrap();
    assert_eq!(second.changes(), 0, "{second:?}");
    assert_eq!(second.unchanged, first.created);
    assert_eq!(snapshot(s.as_ref()).await, before);
    // Importing its own export changes nothing either.
    let e = export(s.as_ref()).await.unwrap();
    let third = import(s.as_ref(), &e, "import").await.unwrap();
    assert_eq!(third.changes(), 0, "{third:?}");
    assert_eq!(snapshot(s.as_ref()).await, before);
}

#[tokio::test]
async fn an_edited_file_updates_only_what_changed() {
    let (s, _d) = fresh_storage().await;
    import(s.as_ref(), EXAMPLE, "import").await.unwrap();
    let edited = EXAMPLE
        .replace("name: Acme Europe", "name: Acme Europa")
        .replace(
            "      - user_id: usr_bob\n        roles:\n          app_crm: [after-sales]",
            "      - user_id: usr_bob\n        roles:\n          app_crm: [after-sales, sales]",
        );
    assert_ne!(edited, EXAMPLE);
    let sum = import(s.as_ref(), &edited, "ops@example").await.unwrap();
    assert_eq!((sum.created, sum.updated), (0, 2), "{sum:?}");
    assert_eq!(sum.by_kind["orgs"], (0, 1, 2));
    assert_eq!(sum.by_kind["members"], (0, 1, 4));
    let org = s
        .get_org(&"acme-eu".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.name, "Acme Europa");
    assert_eq!(org.version, 2);
    let page = s
        .list_audit(
            &lobby::storage::AuditFilter {
                org_id: Some("acme-eu".parse().unwrap()),
                action: Some("org.update".into()),
                ..Default::default()
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].actor, "ops@example");
    assert_eq!(page.items[0].details["before"]["name"], "Acme Europe");
    assert_eq!(page.items[0].details["after"]["name"], "Acme Europa");
}

#[tokio::test]
async fn an_invalid_file_changes_nothing_and_names_the_field() {
    // A member role outside the org's role groups (globex only has `narrow`).
    let bad = EXAMPLE.replacen(
        "      - user_id: usr_alice\n        roles:\n          app_crm: [sales]\n      - user_id: usr_dave",
        "      - user_id: usr_alice\n        roles:\n          app_crm: [finance]\n      - user_id: usr_dave",
        1,
    );
    assert_ne!(bad, EXAMPLE);
    let expected_line = line_of(&bad, "app_crm: [finance]", 0);

    // On an empty database and on one that already holds the example.
    for preload in [false, true] {
        let (s, _d) = fresh_storage().await;
        if preload {
            import(s.as_ref(), EXAMPLE, "import").await.unwrap();
        }
        let before = snapshot(s.as_ref()).await;
        let err = import(s.as_ref(), &bad, "import").await.unwrap_err();
        match &err {
            ImportError::Invalid {
                field,
                line,
                message,
            } => {
                assert_eq!(field, "orgs[2].members[0].roles.app_crm");
                assert_eq!(*line, Some(expected_line));
                assert!(message.contains("finance"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("orgs[2].members[0].roles.app_crm"));
        assert_eq!(snapshot(s.as_ref()).await, before, "preload={preload}");
    }
}

#[tokio::test]
async fn yaml_errors_name_the_line() {
    let (s, _d) = fresh_storage().await;
    import(s.as_ref(), EXAMPLE, "import").await.unwrap();
    let before = snapshot(s.as_ref()).await;

    // An unknown key.
    let bad = EXAMPLE.replacen(
        "    slug: acme-eu\n",
        "    slug: acme-eu\n    colour: red\n",
        1,
    );
    let expected = line_of(&bad, "colour: red", 0);
    match import(s.as_ref(), &bad, "import").await.unwrap_err() {
        ImportError::Parse { line, message, .. } => {
            assert_eq!(line, expected, "{message}");
            assert!(message.contains("colour"), "{message}");
            assert!(message.contains("orgs[1]"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // An invalid value.
    let bad = EXAMPLE.replacen("    slug: globex\n", "    slug: Globex Inc\n", 1);
    let expected = line_of(&bad, "slug: Globex Inc", 0);
    let err = import(s.as_ref(), &bad, "import").await.unwrap_err();
    assert!(
        err.to_string().contains(&format!("line {expected}")),
        "{err}"
    );
    // Broken YAML.
    let bad = EXAMPLE.replacen("    name: CRM\n", "    name: [CRM\n", 1);
    let err = import(s.as_ref(), &bad, "import").await.unwrap_err();
    assert!(
        matches!(err, ImportError::Parse { line, .. } if line > 0),
        "{err}"
    );
    // A wrong type inside a tagged config: serde buffers it, so the line is that of the
    // connection element (not of the value itself).
    let bad = EXAMPLE.replacen(
        "          min_length: 14\n",
        "          min_length: fourteen\n",
        1,
    );
    let element = line_of(&bad, "- id: conn_acme_eu_password", 0);
    let value = line_of(&bad, "min_length: fourteen", 0);
    match import(s.as_ref(), &bad, "import").await.unwrap_err() {
        ImportError::Parse { line, message, .. } => {
            assert!((element..=value).contains(&line), "{line}: {message}");
            assert!(message.contains("orgs[1].connections[0]"), "{message}");
            assert!(message.contains("fourteen"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(s.as_ref()).await, before);
}

#[tokio::test]
async fn import_applies_the_cross_object_rules() {
    let (s, _d) = fresh_storage().await;
    import(s.as_ref(), EXAMPLE, "import").await.unwrap();
    let before = snapshot(s.as_ref()).await;
    let cases: Vec<(String, &str)> = vec![
        // A child given a role group its parent does not have.
        (
            EXAMPLE.replacen(
                "allowed_role_groups: [broad, narrow]",
                "allowed_role_groups: [broad]",
                1,
            ),
            "orgs[1].apps[0].allowed_role_groups",
        ),
        // A role group with a role its app does not have.
        (
            EXAMPLE.replacen(
                "        roles: [sales]\n",
                "        roles: [sales, ledger]\n",
                1,
            ),
            "apps[0].role_groups[1].roles",
        ),
        // A parent cycle.
        (
            EXAMPLE.replacen(
                "    slug: acme\n",
                "    slug: acme\n    parent_id: acme-eu\n",
                1,
            ),
            "orgs[0].parent_id",
        ),
        // A link naming a connection of another org.
        (
            EXAMPLE.replacen(
                "connection_ids: [conn_acme_password]",
                "connection_ids: [conn_globex_password]",
                1,
            ),
            "orgs[0].apps[0].auth_policy.connection_ids[0]",
        ),
        // A member who is not a user.
        (
            EXAMPLE.replacen(
                "      - user_id: usr_dave\n",
                "      - user_id: usr_nobody\n",
                1,
            ),
            "orgs[2].members[1].user_id",
        ),
        // A role group without an id cannot be imported idempotently.
        (
            EXAMPLE.replacen(
                "      - id: narrow\n        name: Sales only\n",
                "      - name: Sales only\n",
                1,
            ),
            "apps[0].role_groups[1].id",
        ),
        // Two orgs with one slug.
        (
            EXAMPLE.replacen("    slug: globex\n", "    slug: acme\n", 1),
            "orgs[2].slug",
        ),
        // A verified domain of another org.
        (
            EXAMPLE.replacen(
                "      - domain: globex.example\n",
                "      - domain: acme.example\n",
                1,
            ),
            "orgs[2].domains[1].verified",
        ),
    ];
    for (bad, field) in cases {
        assert_ne!(bad, EXAMPLE, "{field}: replacement did not apply");
        match import(s.as_ref(), &bad, "import").await.unwrap_err() {
            ImportError::Invalid { field: f, line, .. } => {
                assert_eq!(f, field);
                assert!(line.is_some(), "{field}: no line");
            }
            other => panic!("{field}: {other:?}"),
        }
        assert_eq!(snapshot(s.as_ref()).await, before, "{field}");
    }
}

#[tokio::test]
async fn the_admin_api_returns_what_was_imported() {
    let t = TestApp::start().await;
    import(t.storage.as_ref(), EXAMPLE, "import").await.unwrap();

    let (s, app) = t.get("/apps/app_crm").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app["client_id"], "crm");
    assert_eq!(app["client_secret_set"], true);
    assert_eq!(app["revoke_on"].as_array().unwrap().len(), 5);
    let stored = t
        .storage
        .get_app(&AppId::parse("app_crm").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.client_secret_hash.unwrap().as_hex(),
        TokenHash::of("crm-demo-secret-0123456789-abcdefghij").as_hex()
    );
    let (_, roles) = t.get("/apps/app_crm/roles").await;
    let values: Vec<&str> = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["after-sales", "finance", "sales"]);
    let (_, g) = t.get("/apps/app_crm/role-groups/broad").await;
    assert_eq!(g["roles"], json!(["after-sales", "finance", "sales"]));

    let (_, eu) = t.get("/orgs/acme-eu").await;
    assert_eq!(eu["parent_id"], "acme");
    let (_, children) = t.get("/orgs?parent_id=acme").await;
    assert_eq!(children["items"][0]["id"], "acme-eu");
    let (_, acme) = t.get("/orgs/acme").await;
    assert_eq!(acme["branding"]["primary_color"], "#d62828");
    let (_, link) = t.get("/orgs/acme/apps/app_crm").await;
    assert_eq!(
        link["auth_policy"],
        json!({"mode": "connections", "connection_ids": ["conn_acme_password"]})
    );
    assert_eq!(link["jit"], true);
    assert_eq!(link["allowed_role_groups"], json!(["broad", "narrow"]));
    let (_, domains) = t.get("/orgs/globex/domains").await;
    let d: Vec<(String, bool)> = domains["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap().to_owned(),
                d["verified"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        d,
        [
            ("globex-partners.example".to_owned(), false),
            ("globex.example".to_owned(), true)
        ]
    );
    let (_, conn) = t.get("/orgs/acme/connections/conn_acme_password").await;
    assert_eq!(conn["state"], "active");
    assert_eq!(
        conn["config"],
        json!({"kind": "password", "min_length": 12})
    );

    // Alice is a member of two orgs.
    let (_, m) = t.get("/orgs/acme/members/usr_alice").await;
    assert_eq!(m["roles"], json!({"app_crm": ["finance", "sales"]}));
    assert_eq!(m["org_roles"], json!(["org_admin"]));
    let (_, m) = t.get("/orgs/globex/members/usr_alice").await;
    assert_eq!(m["roles"], json!({"app_crm": ["sales"]}));
    let (_, m) = t.get("/orgs/globex/members/usr_dave").await;
    assert_eq!(m["status"], "suspended");
    let memberships = t
        .storage
        .list_memberships_for_user(&"usr_alice".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(memberships.len(), 2);

    let (_, alice) = t.get("/users/usr_alice").await;
    assert_eq!(alice["password_set"], true);
    assert_eq!(alice["email_verified"], true);
    let (_, dave) = t.get("/users/usr_dave").await;
    assert_eq!(dave["password_set"], false);
    let user = t
        .storage
        .get_user(&"usr_alice".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(lobby::domain::verify_password(
        user.password_hash.as_ref().unwrap(),
        "alice-demo-password-1"
    ));

    // Import writes are audited under the importer's name.
    let (_, ev) = t.get("/audit-events?org_id=acme&action=org.create").await;
    assert_eq!(ev["items"][0]["actor"], "import");
    assert_eq!(ev["items"][0]["details"]["after"]["slug"], "acme");
}

/// The same guarantees on PostgreSQL (when `LOBBY_TEST_DATABASE_URL` is set): round trip,
/// idempotency, all-or-nothing.
#[tokio::test]
async fn import_and_export_on_postgres() {
    crate::harness::on_postgres(|pg| async move {
        let (lite, _d) = fresh_storage().await;
        import(lite.as_ref(), EXAMPLE, "import").await.unwrap();
        let from_sqlite = export(lite.as_ref()).await.unwrap();

        let first = import(pg.as_ref(), EXAMPLE, "import").await.unwrap();
        assert_eq!(first.created, 28);
        let from_pg = export(pg.as_ref()).await.unwrap();
        assert_eq!(from_pg, from_sqlite);
        let before = snapshot(pg.as_ref()).await;
        let second = import(pg.as_ref(), EXAMPLE, "import").await.unwrap();
        assert_eq!(second.changes(), 0);
        let bad = EXAMPLE.replacen("    slug: globex\n", "    slug: acme\n", 1);
        assert!(import(pg.as_ref(), &bad, "import").await.is_err());
        assert_eq!(snapshot(pg.as_ref()).await, before);
    })
    .await;
}

#[tokio::test]
async fn upstream_secrets_are_kept_and_never_exported() {
    let (s, _d) = fresh_storage().await;
    import(s.as_ref(), EXAMPLE, "import").await.unwrap();
    let with_oidc = EXAMPLE.replacen(
        "    connections:\n      - id: conn_globex_password\n",
        "    connections:\n      - id: conn_globex_entra\n        name: Globex Entra\n        config:\n          kind: oidc\n          issuer: https://login.globex.example/v2.0\n          client_id: lobby\n          client_secret: upstream-secret-for-globex\n      - id: conn_globex_password\n",
        1,
    );
    assert_ne!(with_oidc, EXAMPLE);
    // Upstream secrets are sealed at rest (OIDC federation): without the seal key the file is refused.
    match import(s.as_ref(), &with_oidc, "import").await.unwrap_err() {
        ImportError::Invalid { field, .. } => {
            assert_eq!(field, "orgs[2].connections[0].config.client_secret")
        }
        other => panic!("{other:?}"),
    }
    let seal = lobby::keys::seal::SealKey::generate().unwrap();
    let sum = import_sealed(s.as_ref(), Some(&seal), &with_oidc, "import")
        .await
        .unwrap();
    assert_eq!((sum.created, sum.updated), (1, 0), "{sum:?}");
    // The same file again changes nothing (the sealed value is kept).
    let sum = import_sealed(s.as_ref(), Some(&seal), &with_oidc, "import")
        .await
        .unwrap();
    assert_eq!(sum.changes(), 0, "{sum:?}");
    let exported = export(s.as_ref()).await.unwrap();
    assert!(exported.contains("conn_globex_entra"));
    assert!(!exported.contains("upstream-secret-for-globex"));
    // Importing the export (no secret) keeps the stored secret and changes nothing.
    let sum = import(s.as_ref(), &exported, "import").await.unwrap();
    assert_eq!(sum.changes(), 0, "{sum:?}");
    let c = s
        .get_connection(
            &"globex".parse().unwrap(),
            &"conn_globex_entra".parse().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    match c.config {
        lobby::domain::ConnectionConfig::Oidc(o) => {
            let sealed = o.client_secret.unwrap();
            assert!(!sealed.expose().contains("upstream-secret-for-globex"));
            assert_eq!(
                seal.open(sealed.expose()).unwrap(),
                b"upstream-secret-for-globex"
            )
        }
        other => panic!("{other:?}"),
    }
    // A new secret in the file replaces it.
    let rotated = with_oidc.replace("upstream-secret-for-globex", "rotated-upstream-secret");
    let sum = import_sealed(s.as_ref(), Some(&seal), &rotated, "import")
        .await
        .unwrap();
    assert_eq!(sum.updated, 1, "{sum:?}");
    // But a new connection without its secret is refused, naming the field.
    let (fresh, _d2) = fresh_storage().await;
    match import(fresh.as_ref(), &exported, "import")
        .await
        .unwrap_err()
    {
        ImportError::Invalid { field, .. } => {
            assert_eq!(field, "orgs[2].connections[0].config.client_secret")
        }
        other => panic!("{other:?}"),
    }
}
