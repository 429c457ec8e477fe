//! Federation to an organization's own OpenID Provider (OIDC federation) against a hostile,
//! in-process fake OP (axum on 127.0.0.1:0, keys generated here). Every refused answer is checked
//! for the same three things: no code to the app, no SSO session, and the exact error (the
//! sentence on the page and the `reason` of the audit event).
//!
//! `Fed::start` boots Lobby (temp-dir SQLite, memory state, outbound timeout 2 s) with app `crm`
//! (public client), org `hooli` (verified hooli.test, JIT with default role `sales`, groups
//! claim mapping `finance-team` → `finance`) using the fake OP `op` through connection
//! `hooli-idp` (client_secret_basic, sealed secret), and org `pied` (verified pied.test) using a
//! second fake OP `op2` through `pied-idp`.
//!
//! This file owns the Lobby side of the fixture (`Fed`, its seed and the refusal asserts); the
//! fake OP is in `fake_idp`, and each other file owns one feature area.

use crate::provider::fixture::{Browser, Resp, authorize_path, pkce};
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lobby::app::{AppState, Boot, Server};
use lobby::config::Config;
use lobby::domain::*;
use lobby::storage::{AuditFilter, PageRequest};
use lobby::upstream::http::Limits;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod auth_time;
mod binding;
mod connection;
mod discovery;
mod email_rule;
mod fake_idp;
mod hanging_idp;
mod happy_path;
mod hostile_idp;
mod invitations;
mod metrics;
mod multi_instance;
mod redis_faults;
mod shared_domain;

use fake_idp::*;

const CRM_CB: &str = "http://127.0.0.1:9/crm/cb";
const CLIENT_ID: &str = "lobby-at-hooli";
const CLIENT_SECRET: &str = "upstream secret: with spaces & symbols";

const REJECTED: &str = "failed our security checks";
const MISCONFIGURED: &str = "is not set up correctly";
const UNREACHABLE: &str = "could not be reached or did not answer in time";
const MISMATCH: &str = "does not belong to the sign-in started in this browser";

// ---------------------------------------------------------------------------------------
// Lobby

struct Fed {
    base: String,
    st: AppState,
    op: Op,
    op2: Op,
    redis: Option<(String, String)>,
    /// Every message Lobby sent (the emailed org chooser).
    mail: Arc<lobby::mail::MemoryMailer>,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fed {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What Lobby sent to the IdP.
#[derive(Debug)]
struct AuthReq {
    state: String,
    nonce: String,
    challenge: String,
    params: BTreeMap<String, String>,
}

fn now() -> time::OffsetDateTime {
    trunc_millis(time::OffsetDateTime::now_utc())
}

fn rv(s: &str) -> RoleValue {
    RoleValue::parse(s).unwrap()
}

impl Fed {
    async fn start() -> Fed {
        Self::start_with(|_| {}).await
    }

    /// `tweak` may change the fake OP's configuration before Lobby sees it.
    async fn start_with(tweak: impl FnOnce(&mut OpConfig)) -> Fed {
        Self::boot(tweak, None).await
    }

    /// `redis`: (URL, key prefix) for short-lived state and sessions on Redis.
    async fn boot(tweak: impl FnOnce(&mut OpConfig), redis: Option<(String, String)>) -> Fed {
        let op = Op::start().await;
        tweak(&mut op.st.cfg.lock().unwrap());
        let op2 = Op::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mail = Arc::new(lobby::mail::MemoryMailer::new());
        let (base, st, server) = instance(dir.path(), None, redis.as_ref(), mail.clone()).await;
        seed(&st, &op.issuer(), &op2.issuer()).await;
        Fed {
            base,
            st,
            op,
            op2,
            redis,
            mail,
            _dir: dir,
            server,
        }
    }

    /// Another instance on the same database, Redis and public URL (behind one load
    /// balancer), with its own connector cache. Returns its real base URL.
    async fn second_instance(&self) -> (String, AppState, tokio::task::JoinHandle<()>) {
        instance(
            self._dir.path(),
            Some(&self.base),
            self.redis.as_ref(),
            self.mail.clone(),
        )
        .await
    }

    fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// `/authorize` for crm, the identifier page with `email`, and the redirect to the IdP.
    /// Returns what Lobby sent and the app-side PKCE verifier.
    async fn to_idp(&self, b: &Browser, email: &str, extra: &[(&str, &str)]) -> (AuthReq, String) {
        let (verifier, challenge) = pkce();
        let flow = b
            .start(&authorize_path("crm", CRM_CB, &challenge, extra))
            .await;
        let page = b.get(&format!("/login?flow={flow}")).await;
        let csrf = page.hidden("csrf");
        let r = b
            .post(
                "/login",
                &[("flow", &flow), ("csrf", &csrf), ("email", email)],
            )
            .await;
        assert_eq!(r.status, 303, "identifier: {}", r.body);
        (auth_req(&r), verifier)
    }

    async fn callback(&self, b: &Browser, conn: &str, q: &[(&str, &str)]) -> Resp {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish();
        b.get(&format!("/sso/oidc/{conn}/callback?{query}")).await
    }

    /// Start a login, have the OP answer the code with `id_token`, and call back.
    async fn login_with(&self, b: &Browser, make: impl FnOnce(&AuthReq) -> String) -> Resp {
        let (req, _) = self.to_idp(b, "pat@hooli.test", &[]).await;
        let token = make(&req);
        self.op.will_answer("code-1", &req.challenge, token);
        let iss = self.op.issuer();
        self.callback(
            b,
            "hooli-idp",
            &[("code", "code-1"), ("state", &req.state), ("iss", &iss)],
        )
        .await
    }

    /// The newest audit event with this action.
    async fn last_audit(&self, action: &str) -> AuditEvent {
        self.st
            .storage
            .list_audit(
                &AuditFilter {
                    org_id: None,
                    action: Some(action.into()),
                    ..Default::default()
                },
                &PageRequest::first(1),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {action} audit event"))
    }

    async fn audit_count(&self, action: &str) -> usize {
        self.st
            .storage
            .list_audit(
                &AuditFilter {
                    org_id: None,
                    action: Some(action.into()),
                    ..Default::default()
                },
                &PageRequest::first(500),
            )
            .await
            .unwrap()
            .items
            .len()
    }

    /// Exchange the app's code at Lobby's `/token` (crm is a public client).
    async fn app_tokens(&self, code: &str, verifier: &str) -> Value {
        let res = reqwest::Client::new()
            .post(format!("{}/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CRM_CB),
                ("code_verifier", verifier),
                ("client_id", "crm"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

/// The authorization request Lobby redirected to the IdP with (`r` is the redirect).
fn auth_req(r: &Resp) -> AuthReq {
    let params = r.redirect_params();
    AuthReq {
        state: params["state"].clone(),
        nonce: params["nonce"].clone(),
        challenge: params["code_challenge"].clone(),
        params,
    }
}

/// One Lobby on 127.0.0.1:0 over the SQLite file in `dir` (and its seal key file), memory or
/// Redis state, outbound timeout 2 s (so the "never answers" IdP costs 2 s, not 10).
async fn instance(
    dir: &std::path::Path,
    public_url: Option<&str>,
    redis: Option<&(String, String)>,
    mail: Arc<lobby::mail::MemoryMailer>,
) -> (String, AppState, tokio::task::JoinHandle<()>) {
    let url = format!("sqlite://{}/lobby.db?mode=rwc", dir.display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::for_tests(&url, dir);
    let public = public_url
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http://{addr}"));
    config.public_url = url::Url::parse(&format!("{public}/")).unwrap();
    config.redis_url = redis.map(|(u, _)| Secret::new(u.clone()));
    let storage = lobby::storage::open(&url).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state: Arc<dyn lobby::state::StateStore> = match redis {
        Some((u, prefix)) => Arc::new(
            lobby::state::RedisState::connect(u, prefix)
                .await
                .expect("LOBBY_TEST_REDIS_URL is set but Redis does not answer"),
        ),
        None => lobby::state::open(None, clock.clone()).await.unwrap(),
    };
    let app = Server::build(
        config,
        Boot {
            storage: Some(storage),
            ephemeral: Some(state),
            clock: Some(clock),
            upstream_limits: Some(Limits {
                total_timeout: Duration::from_secs(2),
                connect_timeout: Duration::from_secs(1),
                ..Limits::default()
            }),
            mailer: Some(mail),
            ..Boot::default()
        },
    )
    .await
    .unwrap();
    let st = app.state;
    let router = app.router;
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    (format!("http://{addr}"), st, server)
}

async fn seed(st: &AppState, issuer: &str, issuer2: &str) {
    let s = st.storage.as_ref();
    let app = App {
        id: AppId::parse("crm").unwrap(),
        name: "CRM".into(),
        client_id: ClientId::parse("crm").unwrap(),
        client_type: ClientType::Public,
        client_secret_hash: None,
        redirect_uris: vec![CRM_CB.into()],
        post_logout_redirect_uris: vec![],
        signing_alg: SigningAlg::ES256,
        token_lifetimes: TokenLifetimes::default(),
        invite_ttl_secs: 86400,
        revoke_on: Default::default(),
        auth_policy: AppAuthPolicy::default(),
        admin_api: AdminApiAccess::default(),
        backchannel_logout: None,
        mfa: Default::default(),
        version: 1,
        created_at: now(),
        updated_at: now(),
    };
    s.create_app(&app).await.unwrap();
    for r in ["sales", "finance", "admin"] {
        s.create_role(&Role {
            app_id: app.id.clone(),
            value: rv(r),
            name: r.into(),
            description: String::new(),
        })
        .await
        .unwrap();
    }
    s.create_role_group(&RoleGroup {
        id: RoleGroupId::parse("std").unwrap(),
        app_id: app.id.clone(),
        name: "Standard".into(),
        roles: [rv("sales"), rv("finance")].into(),
        version: 1,
        created_at: now(),
        updated_at: now(),
    })
    .await
    .unwrap();
    for (org, domain, conn, iss) in [
        ("hooli", "hooli.test", "hooli-idp", issuer),
        ("pied", "pied.test", "pied-idp", issuer2),
    ] {
        let org_id = OrgId::parse(org).unwrap();
        s.create_org(&Org {
            id: org_id.clone(),
            slug: Slug::parse(org).unwrap(),
            name: org.to_uppercase(),
            status: OrgStatus::Active,
            parent_id: None,
            branding: Branding::default(),
            version: 1,
            created_at: now(),
            updated_at: now(),
        })
        .await
        .unwrap();
        s.create_domain(&OrgDomain {
            org_id: org_id.clone(),
            domain: EmailDomain::parse(domain).unwrap(),
            verified: true,
            verification_token: "t".into(),
            verified_at: Some(now()),
            created_at: now(),
            shared: false,
        })
        .await
        .unwrap();
        s.create_link(&OrgAppLink {
            org_id: org_id.clone(),
            app_id: app.id.clone(),
            allowed_role_groups: [RoleGroupId::parse("std").unwrap()].into(),
            auth_policy: LinkAuthPolicy::Inherit,
            jit: true,
            default_roles: [rv("sales")].into(),
            mfa: None,
            version: 1,
            created_at: now(),
            updated_at: now(),
        })
        .await
        .unwrap();
        let sealed = st.seal.seal(CLIENT_SECRET.as_bytes()).unwrap();
        s.create_connection(&Connection {
            id: ConnectionId::parse(conn).unwrap(),
            org_id,
            name: format!("{org} IdP"),
            state: ConnectionState::Active,
            config: ConnectionConfig::Oidc(OidcConfig {
                issuer: iss.into(),
                client_id: CLIENT_ID.into(),
                client_secret: Some(Secret::new(sealed)),
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
                token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
                allowed_algs: vec!["RS256".into(), "ES256".into()],
                claims: ClaimMapping {
                    groups: Some("groups".into()),
                    ..ClaimMapping::default()
                },
                role_mapping: vec![GroupRoleMapping {
                    group: "finance-team".into(),
                    app_id: app.id.clone(),
                    roles: vec![rv("finance"), rv("admin")],
                }],
                require_email_verified: true,
                email_authority: Default::default(),
            }),
            version: 1,
            created_at: now(),
            updated_at: now(),
        })
        .await
        .unwrap();
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// No code went to the app, no SSO session was started, and the page says `sentence`.
fn assert_refused(b: &Browser, r: &Resp, status: u16, sentence: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.headers.get("location").is_none(), "no redirect, no code");
    assert!(
        unescape(&r.body).contains(sentence),
        "missing {sentence:?} in {}",
        r.body
    );
    assert!(r.body.contains("id=\"request-id\""));
    assert!(
        b.cookie("lobby_session").is_none(),
        "no SSO session after a refused sign-in"
    );
}

async fn assert_reason(fed: &Fed, action: &str, reason: &str) {
    let e = fed.last_audit(action).await;
    assert_eq!(e.details["reason"], reason, "{e:?}");
    assert_ne!(e.outcome, Outcome::Success);
}
