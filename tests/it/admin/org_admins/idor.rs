//! The IDOR matrix, generated: every route of `route_table()` whose path names an org
//! (`{org_id}`), plus the three that take an org in the query or body, × the org's position
//! relative to the callers' org `own` × every kind of caller. The expected status comes from
//! the rule table below (the rights of DESIGN §6.6 and issue 12, written here independently of
//! `admin::scope`); every refused write is checked to change nothing. Tenant-wide routes are
//! checked against every caller too.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Operator,
    OrgAdmin,
    MemberAdmin,
    Viewer,
    PlainMember,
    OtherOrgAdmin,
    /// A normal access token of the org admin (aud = the app's client id).
    AppToken,
    Expired,
    NoToken,
    ClientRead,
    ClientWrite,
}

const WHO: [Who; 11] = [
    Who::Operator,
    Who::OrgAdmin,
    Who::MemberAdmin,
    Who::Viewer,
    Who::PlainMember,
    Who::OtherOrgAdmin,
    Who::AppToken,
    Who::Expired,
    Who::NoToken,
    Who::ClientRead,
    Who::ClientWrite,
];

/// Position → org id. `nope` does not exist.
const POSITIONS: [(&str, &str); 5] = [
    ("own", "own"),
    ("other", "oth"),
    ("child", "kid"),
    ("parent", "par"),
    ("nonexistent", "nope"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    Org,
    Settings,
    People,
}

fn area(segment: &str) -> Area {
    match segment {
        "" => Area::Org,
        "apps" | "domains" | "connections" => Area::Settings,
        "members" | "invitations" => Area::People,
        other => panic!("the rule table does not know /orgs/{{org_id}}/{other}: add it"),
    }
}

fn bearer(t: &TestApp, who: Who) -> Option<String> {
    let m = t.mint();
    match who {
        Who::Operator => t.token.clone(),
        Who::OrgAdmin => Some(token(t, "usr_oa", "own")),
        Who::MemberAdmin => Some(token(t, "usr_ma", "own")),
        Who::Viewer => Some(token(t, "usr_vw", "own")),
        Who::PlainMember => Some(token(t, "usr_pm", "own")),
        Who::OtherOrgAdmin => Some(token(t, "usr_xa", "oth")),
        Who::AppToken => {
            let mut c = m.claims("usr_oa", Some("own"), "crm", "openid lobby:admin", 600);
            c.aud = "crm".into();
            Some(m.sign(&c))
        }
        Who::Expired => {
            Some(m.sign(&m.claims("usr_oa", Some("own"), "crm", "openid lobby:admin", -60)))
        }
        Who::NoToken => None,
        Who::ClientRead => Some(m.client("backend", "lobby:admin:read")),
        Who::ClientWrite => Some(m.client("backend", "lobby:admin:read lobby:admin:write")),
    }
}

/// The caller's org and org roles, for delegated callers.
fn delegated(who: Who) -> Option<(&'static str, &'static [&'static str])> {
    match who {
        Who::OrgAdmin => Some(("own", &["org_admin"])),
        Who::MemberAdmin => Some(("own", &["member_admin"])),
        Who::Viewer => Some(("own", &["viewer"])),
        Who::PlainMember => Some(("own", &[])),
        Who::OtherOrgAdmin => Some(("oth", &["org_admin"])),
        _ => None,
    }
}

/// Whether `org` is `home` or below it.
fn below(org: &str, home: &str) -> bool {
    let mut cur = Some(org);
    while let Some(o) = cur {
        if o == home {
            return true;
        }
        cur = ORGS.iter().find(|(x, _)| *x == o).and_then(|(_, p)| *p);
    }
    false
}

/// What one org-scoped request is, for the rule table.
struct Case<'a> {
    method: &'a Method,
    /// The path template after `/orgs/{org_id}` (`""`, `members`, `members/{user_id}`, …).
    tail: &'a str,
    org: &'a str,
    /// What the operator gets (the route's outcome when the caller may use it).
    allowed: StatusCode,
}

/// The rule table.
fn expected(who: Who, c: &Case<'_>) -> StatusCode {
    let read = *c.method == Method::GET;
    match who {
        Who::NoToken | Who::AppToken | Who::Expired => return StatusCode::UNAUTHORIZED,
        Who::Operator | Who::ClientWrite => return c.allowed,
        Who::ClientRead => {
            return if read {
                c.allowed
            } else {
                StatusCode::FORBIDDEN
            };
        }
        _ => {}
    }
    let (home, roles) = delegated(who).unwrap();
    if roles.is_empty() {
        return StatusCode::FORBIDDEN; // no admin role: nothing anywhere
    }
    let org_admin = roles.contains(&"org_admin");
    let reached = c.org == home || (org_admin && below(c.org, home));
    if !reached {
        return StatusCode::NOT_FOUND;
    }
    let inherited = c.org != home;
    let first = c.tail.split('/').next().unwrap();
    let a = area(first);
    let ok = if read {
        org_admin
            || roles.contains(&"viewer")
            || (roles.contains(&"member_admin") && a != Area::Settings)
    } else if first == "apps" || (c.tail == "members" && *c.method == Method::POST) {
        false // operator only
    } else if c.tail.is_empty() && *c.method == Method::DELETE {
        org_admin && inherited
    } else {
        org_admin || (roles.contains(&"member_admin") && a == Area::People)
    };
    if ok { c.allowed } else { StatusCode::FORBIDDEN }
}

/// A fresh id suffix.
fn fresh() -> String {
    ulid::Ulid::new().to_string().to_ascii_lowercase()
}

/// The concrete path, body and operator outcome of one org-scoped route in `org`, creating
/// (as the operator) the object a PATCH or DELETE works on so that every case meets the same
/// world.
async fn prepare(
    t: &TestApp,
    method: &Method,
    tail: &str,
    org: &str,
) -> (String, Option<Value>, StatusCode) {
    let exists = org != "nope";
    let n = fresh();
    let get = *method == Method::GET;
    let (sub, body, ok): (String, Option<Value>, StatusCode) = match (method.as_str(), tail) {
        ("GET", "") => (String::new(), None, StatusCode::OK),
        ("PATCH", "") => (
            String::new(),
            Some(json!({"name": format!("Renamed {n}")})),
            StatusCode::OK,
        ),
        // Every org of the world has members (and `par` children): in use.
        ("DELETE", "") => (String::new(), None, StatusCode::CONFLICT),
        ("POST", "apps") => {
            let app = format!("app_{n}");
            t.create(
                "/apps",
                json!({"id": app, "name": "X", "client_id": format!("c-{n}"),
                                     "redirect_uris": ["https://x.example/cb"]}),
            )
            .await;
            (
                "/apps".into(),
                Some(json!({"app_id": app, "allowed_role_groups": []})),
                StatusCode::CREATED,
            )
        }
        ("PATCH" | "DELETE", "apps/{app_id}") => {
            let app = format!("app_{n}");
            t.create(
                "/apps",
                json!({"id": app, "name": "X", "client_id": format!("c-{n}"),
                                     "redirect_uris": ["https://x.example/cb"]}),
            )
            .await;
            if exists {
                // The link and the links of its ancestors (a child's links fit its parent's).
                let mut chain = vec![org];
                while let Some(p) = ORGS
                    .iter()
                    .find(|(o, _)| o == chain.last().unwrap())
                    .and_then(|(_, p)| *p)
                {
                    chain.push(p);
                }
                for o in chain.into_iter().rev() {
                    t.create(
                        &format!("/orgs/{o}/apps"),
                        json!({"app_id": app, "allowed_role_groups": []}),
                    )
                    .await;
                }
            }
            let ok = if *method == Method::PATCH {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            };
            (
                format!("/apps/{app}"),
                (*method == Method::PATCH).then(|| json!({"jit": false})),
                ok,
            )
        }
        ("GET", "apps/{app_id}") => ("/apps/app_crm".into(), None, StatusCode::OK),
        ("POST", "domains") => (
            "/domains".into(),
            Some(json!({"domain": format!("new-{n}.example")})),
            StatusCode::CREATED,
        ),
        ("GET" | "PATCH", "domains/{domain}") => (
            format!("/domains/{org}.example"),
            (!get).then(|| json!({"verified": false})),
            StatusCode::OK,
        ),
        ("DELETE" | "POST", "domains/{domain}" | "domains/{domain}/verify") => {
            let d = format!("d-{n}.{org}.example");
            if exists {
                let v = t
                    .create(&format!("/orgs/{org}/domains"), json!({"domain": d}))
                    .await;
                t.dns.set(
                    v["txt_record_name"].as_str().unwrap(),
                    vec![v["txt_record_value"].as_str().unwrap().to_owned()],
                );
            }
            if tail.ends_with("verify") {
                (format!("/domains/{d}/verify"), None, StatusCode::OK)
            } else {
                (format!("/domains/{d}"), None, StatusCode::NO_CONTENT)
            }
        }
        ("POST", "connections") => (
            "/connections".into(),
            Some(json!({"name": format!("C {n}"), "config": {"kind": "password"}})),
            StatusCode::CREATED,
        ),
        ("GET", "connections/{connection_id}") | ("GET", "connections/{connection_id}/test") => (
            format!(
                "/{}",
                tail.replace("{connection_id}", &format!("conn_{org}"))
            ),
            None,
            StatusCode::OK,
        ),
        ("PATCH", "connections/{connection_id}") => (
            format!("/connections/conn_{org}"),
            Some(json!({"name": format!("Passwords {n}")})),
            StatusCode::OK,
        ),
        // A password connection has no metadata: the operator's answer is a 400.
        ("POST", "connections/{connection_id}/refresh-metadata") => (
            format!("/connections/conn_{org}/refresh-metadata"),
            None,
            StatusCode::BAD_REQUEST,
        ),
        ("DELETE", "connections/{connection_id}") => {
            let id = format!("conn_{n}");
            if exists {
                t.create(
                    &format!("/orgs/{org}/connections"),
                    json!({"id": id, "name": "Gone", "config": {"kind": "password"}}),
                )
                .await;
            }
            (format!("/connections/{id}"), None, StatusCode::NO_CONTENT)
        }
        ("POST", "members") => {
            let u = format!("usr_{n}");
            t.create(
                "/users",
                json!({"id": u, "email": format!("{n}@x.example")}),
            )
            .await;
            (
                "/members".into(),
                Some(json!({"user_id": u})),
                StatusCode::CREATED,
            )
        }
        ("GET", "members/{user_id}") => (format!("/members/usr_m_{org}"), None, StatusCode::OK),
        ("DELETE", "members/{user_id}/mfa") => {
            let u = format!("usr_{n}");
            t.create(
                "/users",
                json!({"id": u, "email": format!("{n}@x.example")}),
            )
            .await;
            if exists {
                t.create(&format!("/orgs/{org}/members"), json!({"user_id": u}))
                    .await;
            }
            (format!("/members/{u}/mfa"), None, StatusCode::OK)
        }
        ("PATCH" | "DELETE", "members/{user_id}") => {
            let u = format!("usr_{n}");
            t.create(
                "/users",
                json!({"id": u, "email": format!("{n}@x.example")}),
            )
            .await;
            if exists {
                t.create(&format!("/orgs/{org}/members"), json!({"user_id": u}))
                    .await;
            }
            if *method == Method::PATCH {
                (
                    format!("/members/{u}"),
                    Some(json!({"roles": {"app_crm": ["sales"]}})),
                    StatusCode::OK,
                )
            } else {
                (format!("/members/{u}"), None, StatusCode::NO_CONTENT)
            }
        }
        ("POST", "invitations") => (
            "/invitations".into(),
            Some(json!({"email": format!("{n}@x.example"), "roles": {"app_crm": ["sales"]}})),
            StatusCode::CREATED,
        ),
        ("GET", "invitations/{invitation_id}") => {
            (format!("/invitations/inv_{org}"), None, StatusCode::OK)
        }
        ("PATCH" | "DELETE", "invitations/{invitation_id}") => {
            let id = format!("inv_{n}");
            if exists {
                t.create(
                    &format!("/orgs/{org}/invitations"),
                    json!({"id": id, "email": format!("{n}@x.example"), "roles": {"app_crm": ["sales"]}}),
                )
                .await;
            }
            if *method == Method::PATCH {
                (
                    format!("/invitations/{id}"),
                    Some(json!({"status": "revoked"})),
                    StatusCode::OK,
                )
            } else {
                (format!("/invitations/{id}"), None, StatusCode::NO_CONTENT)
            }
        }
        ("POST", "invitations/{invitation_id}/resend") => {
            let id = format!("inv_{n}");
            if exists {
                t.create(
                    &format!("/orgs/{org}/invitations"),
                    json!({"id": id, "email": format!("{n}@x.example"), "roles": {"app_crm": ["sales"]}}),
                )
                .await;
            }
            (format!("/invitations/{id}/resend"), None, StatusCode::OK)
        }
        ("GET", list) if !list.contains('/') => (format!("/{list}"), None, StatusCode::OK),
        (m, other) => panic!("the matrix does not know {m} /orgs/{{org_id}}/{other}: add it"),
    };
    let ok = if exists { ok } else { StatusCode::NOT_FOUND };
    (format!("/orgs/{org}{sub}"), body, ok)
}

#[tokio::test]
async fn idor_matrix() {
    let t = TestApp::start().await;
    world(&t).await;
    let tokens: Vec<(Who, Option<String>)> = WHO.iter().map(|w| (*w, bearer(&t, *w))).collect();
    let mut cases = 0usize;
    let mut routes = 0usize;

    // 1. Every org-scoped route × position × caller.
    for r in lobby::admin::route_table() {
        let Some((_, tail)) = r.path.split_once("{org_id}") else {
            continue;
        };
        routes += 1;
        let tail = tail.trim_start_matches('/');
        for (_pos, org) in POSITIONS {
            // Each caller meets its own fresh target (a PATCH or DELETE that succeeds must not
            // change what the next caller meets).
            let mut batch = Vec::new();
            for (who, bearer) in &tokens {
                let (path, body, allowed) = prepare(&t, &r.method, tail, org).await;
                let case = Case {
                    method: &r.method,
                    tail,
                    org,
                    allowed,
                };
                batch.push((bearer.as_deref(), path, body, expected(*who, &case)));
            }
            // The refused requests first, all between one before/after comparison: together
            // they must change nothing.
            batch.sort_by_key(|(_, _, _, want)| want.is_success());
            let refused_writes = r.method != Method::GET && !batch[0].3.is_success();
            let before = if refused_writes {
                Some(t.snapshot().await)
            } else {
                None
            };
            let mut compared = false;
            for (bearer, path, body, want) in batch {
                if want.is_success()
                    && !compared
                    && let Some(before) = &before
                {
                    assert_eq!(
                        &t.snapshot().await,
                        before,
                        "a refused {} {} changed something",
                        r.method,
                        r.path
                    );
                    compared = true;
                }
                send_expecting(&t, bearer, r.method.clone(), &path, body, want).await;
                cases += 1;
            }
            if !compared && let Some(before) = &before {
                assert_eq!(
                    &t.snapshot().await,
                    before,
                    "a refused {} {} changed something",
                    r.method,
                    r.path
                );
            }
        }
    }

    // 2. The routes that take the org in the query or the body.
    for (pos, org) in POSITIONS {
        let exists = org != "nope";
        for (who, bearer) in &tokens {
            // GET /orgs?parent_id= : reading the org's children (Org area).
            let c = Case {
                method: &Method::GET,
                tail: "",
                org,
                allowed: if exists {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                },
            };
            let path = format!("/orgs?parent_id={org}");
            expect(
                &t,
                bearer.as_deref(),
                Method::GET,
                &path,
                None,
                expected(*who, &c),
            )
            .await;
            // GET /audit-events?org_id= : the org's audit log (Settings area; an unknown org
            // just has no events).
            let c = Case {
                method: &Method::GET,
                tail: "domains",
                org,
                allowed: StatusCode::OK,
            };
            let path = format!("/audit-events?org_id={org}");
            expect(
                &t,
                bearer.as_deref(),
                Method::GET,
                &path,
                None,
                expected(*who, &c),
            )
            .await;
            // POST /orgs with parent_id: creating a child (writing the Org area).
            let n = fresh();
            let c = Case {
                method: &Method::PATCH,
                tail: "",
                org,
                allowed: if exists {
                    StatusCode::CREATED
                } else {
                    StatusCode::NOT_FOUND
                },
            };
            let body = json!({"id": format!("org_{n}"), "slug": format!("s-{n}"), "name": "New", "parent_id": org});
            expect(
                &t,
                bearer.as_deref(),
                Method::POST,
                "/orgs",
                Some(body),
                expected(*who, &c),
            )
            .await;
            let _ = pos;
            cases += 3;
        }
    }

    // 3. Tenant-wide routes: the operator and admin clients only.
    let hook = t
        .create(
            "/webhooks",
            json!({"url": "https://hooks.example.com/lobby", "events": ["org.created"]}),
        )
        .await;
    let hook_id = hook["id"].as_str().expect("webhook id").to_owned();
    for r in lobby::admin::route_table() {
        if r.path.contains("{org_id}") || r.path == "/openapi.json" || r.path == "/orgs" {
            continue;
        }
        let path = r
            .path
            .replace("{app_id}", "app_crm")
            .replace("{value}", "sales")
            .replace("{group_id}", "narrow")
            .replace("{user_id}", "usr_m_own")
            .replace("{webhook_id}", &hook_id);
        let read = r.method == Method::GET;
        for (who, bearer) in &tokens {
            let want = match who {
                Who::NoToken | Who::AppToken | Who::Expired => StatusCode::UNAUTHORIZED,
                Who::Operator | Who::ClientWrite | Who::ClientRead if read => StatusCode::OK,
                // Writes by the operator are the CRUD tests' business.
                Who::Operator | Who::ClientWrite => continue,
                _ => StatusCode::FORBIDDEN,
            };
            // Bodies that would be valid, so only the caller decides.
            let body = (!read).then(|| json!({}));
            expect(&t, bearer.as_deref(), r.method.clone(), &path, body, want).await;
            cases += 1;
        }
    }
    println!(
        "IDOR matrix: {routes} org-scoped routes x {} positions x {} callers, plus org-in-query/body and tenant-wide routes: {cases} requests checked",
        POSITIONS.len(),
        WHO.len()
    );
    assert!(cases > 1500, "{cases}");
}
