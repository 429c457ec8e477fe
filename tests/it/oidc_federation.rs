//! Federation to an organization's own OpenID Provider against a hostile, in-process
//! fake OP (axum on 127.0.0.1:0, keys generated here). Every refused answer is checked for the
//! same three things: no code to the app, no SSO session, and the exact error (the sentence on
//! the page and the `reason` of the audit event).
//!
//! `Fed::start` boots Lobby (temp-dir SQLite, memory state, outbound timeout 2 s) with app `crm`
//! (public client), org `hooli` (verified hooli.test, JIT with default role `sales`, groups
//! claim mapping `finance-team` → `finance`) using the fake OP `op` through connection
//! `hooli-idp` (client_secret_basic, sealed secret), and org `pied` (verified pied.test) using a
//! second fake OP `op2` through `pied-idp`.

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

const CRM_CB: &str = "http://127.0.0.1:9/crm/cb";
const CLIENT_ID: &str = "lobby-at-hooli";
const CLIENT_SECRET: &str = "upstream secret: with spaces & symbols";

const REJECTED: &str = "failed our security checks";
const MISCONFIGURED: &str = "is not set up correctly";
const UNREACHABLE: &str = "could not be reached or did not answer in time";
const MISMATCH: &str = "does not belong to the sign-in started in this browser";

// ---------------------------------------------------------------------------------------
// Keys

struct Key {
    kid: String,
    alg: Algorithm,
    enc: EncodingKey,
    jwk: Value,
}

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut s = "-----BEGIN PRIVATE KEY-----\n".to_string();
    for l in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(l).unwrap());
        s.push('\n');
    }
    s + "-----END PRIVATE KEY-----\n"
}

impl Key {
    fn new(alg: SigningAlg, kid: &str) -> Key {
        let der = lobby::keys::generate_pkcs8(alg).unwrap();
        let (enc, jalg) = match alg {
            SigningAlg::RS256 => (
                EncodingKey::from_rsa_pem(pem(&der).as_bytes()).unwrap(),
                Algorithm::RS256,
            ),
            SigningAlg::ES256 => (EncodingKey::from_ec_der(&der), Algorithm::ES256),
            SigningAlg::EdDSA => (EncodingKey::from_ed_der(&der), Algorithm::EdDSA),
        };
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, jalg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Key {
            kid: kid.into(),
            alg: jalg,
            enc,
            jwk: serde_json::to_value(jwk).unwrap(),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(claims, &self.kid)
    }

    fn sign_as(&self, claims: &Value, kid: &str) -> String {
        let mut h = Header::new(self.alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, claims, &self.enc).unwrap()
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

// ---------------------------------------------------------------------------------------
// The fake OP

#[derive(Default)]
struct OpConfig {
    /// What the discovery document says its issuer is (default: the real one).
    discovery_issuer: Option<String>,
    /// `jwks_uri` (default: `<base>/jwks`).
    jwks_uri: Option<String>,
    /// RFC 9207 `authorization_response_iss_parameter_supported`.
    iss_param_supported: bool,
    /// The keys published in the JWKS (by kid).
    published: Vec<String>,
}

struct PendingCode {
    challenge: String,
    response: Value,
    status: StatusCode,
}

/// One call of the token endpoint: its Authorization header and form.
type TokenCall = (Option<String>, BTreeMap<String, String>);

struct OpState {
    base: String,
    cfg: Mutex<OpConfig>,
    keys: HashMap<String, Key>,
    codes: Mutex<HashMap<String, PendingCode>>,
    userinfo: Mutex<Value>,
    jwks_hits: AtomicUsize,
    token_auth: Mutex<Vec<TokenCall>>,
}

struct Op {
    st: Arc<OpState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Op {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn discovery(State(s): State<Arc<OpState>>) -> Response {
    let c = s.cfg.lock().unwrap();
    let b = &s.base;
    axum::Json(json!({
        "issuer": c.discovery_issuer.clone().unwrap_or_else(|| b.clone()),
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": c.jwks_uri.clone().unwrap_or_else(|| format!("{b}/jwks")),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": c.iss_param_supported,
    }))
    .into_response()
}

async fn jwks(State(s): State<Arc<OpState>>) -> Response {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let c = s.cfg.lock().unwrap();
    let keys: Vec<Value> = c
        .published
        .iter()
        .filter_map(|k| s.keys.get(k))
        .map(|k| k.jwk.clone())
        .collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

async fn jwks_redirect() -> Response {
    (
        StatusCode::FOUND,
        [("location", "http://169.254.169.254/latest/meta-data/jwks")],
    )
        .into_response()
}

/// 50 MB, streamed without a Content-Length.
async fn jwks_huge() -> Response {
    let chunk = bytes_of(64 * 1024);
    let stream =
        futures::stream::iter((0..800).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    axum::body::Body::from_stream(stream).into_response()
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b' '; n])
}

async fn jwks_hang() -> Response {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    "never".into_response()
}

async fn token(
    State(s): State<Arc<OpState>>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.token_auth.lock().unwrap().push((auth, form.clone()));
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(p) = s.codes.lock().unwrap().remove(&code) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    // PKCE (RFC 7636 §4.6): the verifier must hash to the challenge Lobby sent.
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != p.challenge {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    (p.status, axum::Json(p.response)).into_response()
}

async fn userinfo(State(s): State<Arc<OpState>>) -> Response {
    axum::Json(s.userinfo.lock().unwrap().clone()).into_response()
}

impl Op {
    async fn start() -> Op {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut keys = HashMap::new();
        for (alg, kid) in [
            (SigningAlg::RS256, "rsa-1"),
            (SigningAlg::ES256, "ec-1"),
            (SigningAlg::RS256, "rsa-rogue"),
            (SigningAlg::ES256, "ec-rogue"),
            (SigningAlg::RS256, "rsa-2"),
        ] {
            keys.insert(kid.to_owned(), Key::new(alg, kid));
        }
        let st = Arc::new(OpState {
            base: base.clone(),
            cfg: Mutex::new(OpConfig {
                published: vec!["rsa-1".into(), "ec-1".into()],
                ..OpConfig::default()
            }),
            keys,
            codes: Mutex::new(HashMap::new()),
            userinfo: Mutex::new(Value::Null),
            jwks_hits: AtomicUsize::new(0),
            token_auth: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/jwks-redirect", get(jwks_redirect))
            .route("/jwks-huge", get(jwks_huge))
            .route("/jwks-hang", get(jwks_hang))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(st.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Op { st, server }
    }

    fn issuer(&self) -> String {
        self.st.base.clone()
    }

    fn key(&self, kid: &str) -> &Key {
        &self.st.keys[kid]
    }

    /// Standard valid claims for `sub`, `nonce`.
    fn claims(&self, sub: &str, nonce: &str, email: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "iss": self.issuer(),
            "sub": sub,
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "email": email,
            "email_verified": true,
            "name": "Hooli Person",
            "groups": ["finance-team"],
            "amr": ["pwd", "mfa"],
        })
    }

    /// The OP will answer `code` with this ID token (PKCE checked against `challenge`).
    fn will_answer(&self, code: &str, challenge: &str, id_token: String) {
        self.will_answer_json(
            code,
            challenge,
            StatusCode::OK,
            json!({"access_token": "at-123", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}),
        );
    }

    fn will_answer_json(&self, code: &str, challenge: &str, status: StatusCode, response: Value) {
        self.st.codes.lock().unwrap().insert(
            code.to_owned(),
            PendingCode {
                challenge: challenge.to_owned(),
                response,
                status,
            },
        );
    }
}

// ---------------------------------------------------------------------------------------
// Lobby

struct Fed {
    base: String,
    st: AppState,
    op: Op,
    op2: Op,
    redis: Option<(String, String)>,
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
        let (base, st, server) = instance(dir.path(), None, redis.as_ref()).await;
        seed(&st, &op.issuer(), &op2.issuer()).await;
        Fed {
            base,
            st,
            op,
            op2,
            redis,
            _dir: dir,
            server,
        }
    }

    /// Another instance on the same database, Redis and public URL (behind one load
    /// balancer), with its own connector cache. Returns its real base URL.
    async fn second_instance(&self) -> (String, AppState, tokio::task::JoinHandle<()>) {
        instance(self._dir.path(), Some(&self.base), self.redis.as_ref()).await
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

// ---------------------------------------------------------------------------------------
// The good path

#[tokio::test]
async fn a_hooli_member_signs_in_through_hooli_idp_with_jit_and_mapped_roles() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, verifier) = fed.to_idp(&b, "Pat@Hooli.test", &[]).await;
    // The authorization request (OIDC Core §3.1.2.1, RFC 7636).
    let p = &req.params;
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["code_challenge_method"], "S256");
    assert_eq!(p["login_hint"], "pat@hooli.test");
    assert_eq!(p["scope"], "openid email profile");
    assert_eq!(
        p["redirect_uri"],
        format!("{}/sso/oidc/hooli-idp/callback", fed.base)
    );
    assert!(req.state.len() >= 43 && req.nonce.len() >= 43);
    let token = fed
        .op
        .key("ec-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token);
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
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.location();
    assert!(loc.starts_with(&format!("{CRM_CB}?")), "{loc}");
    let q = r.redirect_params();
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], fed.base);
    assert!(b.cookie("lobby_session").is_some(), "SSO session started");
    // client_secret_basic with the opened (sealed-at-rest) secret, form-urlencoded first.
    let (auth, form) = fed.op.st.token_auth.lock().unwrap()[0].clone();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    assert_eq!(
        auth.unwrap(),
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(CLIENT_ID), enc(CLIENT_SECRET)))
        )
    );
    assert!(!form.contains_key("client_secret"));
    assert_eq!(form["grant_type"], "authorization_code");

    let t = fed.app_tokens(&q["code"], &verifier).await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["idp"], "hooli-idp");
    // default role + finance from the groups mapping; admin is outside hooli's role groups.
    assert_eq!(id["roles"], json!(["finance", "sales"]));
    assert_eq!(id["email"], "pat@hooli.test");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["amr"], json!(["pwd", "mfa"]));
    let ev = fed.last_audit("login.federated").await;
    assert_eq!(ev.details["via"], "jit");

    // Same person again (a new browser, no SSO session): the same user, found by
    // (connection, issuer, subject).
    let b2 = fed.browser();
    let (req, verifier) = fed.to_idp(&b2, "pat@hooli.test", &[]).await;
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c2", &req.challenge, token);
    let r = fed
        .callback(&b2, "hooli-idp", &[("code", "c2"), ("state", &req.state)])
        .await;
    let code = r.redirect_params()["code"].clone();
    let t2 = fed.app_tokens(&code, &verifier).await;
    let id2 = crate::provider::fixture::jwt_claims(t2["id_token"].as_str().unwrap());
    assert_eq!(id2["sub"], id["sub"]);
    assert_eq!(
        fed.last_audit("login.federated").await.details["via"],
        "existing"
    );

    // The SSO session of the federated login serves a second authorization without the IdP.
    let (_, challenge) = pkce();
    let r = b.get(&authorize_path("crm", CRM_CB, &challenge, &[])).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB), "{}", r.location());
}

#[tokio::test]
async fn an_organization_hint_goes_straight_to_the_org_idp() {
    let fed = Fed::start().await;
    let b = fed.browser();
    // The app names the org (by slug) and the user: no email page, the app's login_hint goes on.
    let (verifier, r) = b
        .authorize_crm(&[("organization", "hooli"), ("login_hint", "Pat@Hooli.test")])
        .await;
    let loc = r.location();
    assert!(loc.starts_with(&fed.op.issuer()), "{loc}");
    let req = auth_req(&r);
    let p = &req.params;
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["code_challenge_method"], "S256");
    assert_eq!(p["login_hint"], "pat@hooli.test");
    let token = fed
        .op
        .key("ec-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("h1", &req.challenge, token);
    // The flow is bound to this browser: the callback finishes it here.
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "h1"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let q = r.redirect_params();
    assert_eq!(q["state"], "st-123");
    let t = fed.app_tokens(&q["code"], &verifier).await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["idp"], "hooli-idp");

    // Without a login_hint the IdP gets none; another browser cannot use this state.
    let b2 = fed.browser();
    let (_, r) = b2.authorize_crm(&[("organization", "pied")]).await;
    let req = auth_req(&r);
    assert!(!req.params.contains_key("login_hint"), "{:?}", req.params);
    let r = fed
        .callback(
            &fed.browser(),
            "pied-idp",
            &[("code", "p1"), ("state", &req.state)],
        )
        .await;
    assert!(
        r.status >= 400 && r.headers.get("location").is_none(),
        "{}",
        r.status
    );

    // An org hint that names no linked org: the identifier page, as before.
    let (_, challenge) = pkce();
    let flow = b2
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("organization", "nope")],
        ))
        .await;
    let page = b2.get(&format!("/login?flow={flow}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"email\""), "the email page");
}

#[tokio::test]
async fn extra_audience_with_the_right_azp_is_accepted() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("pat-2", &req.nonce, "pat2@hooli.test");
            c["aud"] = json!([CLIENT_ID, "another-api"]);
            c["azp"] = json!(CLIENT_ID);
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB));
}

#[tokio::test]
async fn userinfo_fills_missing_claims() {
    let fed = Fed::start().await;
    let b = fed.browser();
    *fed.op.st.userinfo.lock().unwrap() = json!({
        "sub": "pat-3", "email": "pat3@hooli.test", "email_verified": true, "name": "From Userinfo",
    });
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("pat-3", &req.nonce, "");
            let m = c.as_object_mut().unwrap();
            m.remove("email");
            m.remove("email_verified");
            m.remove("name");
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let ev = fed.last_audit("login.federated").await;
    assert_eq!(ev.outcome, Outcome::Success);
    let uid = UserId::parse(ev.target_id.as_str()).unwrap();
    let u = fed.st.storage.get_user(&uid).await.unwrap().unwrap();
    assert_eq!(u.email.as_str(), "pat3@hooli.test");
    assert_eq!(u.name.as_deref(), Some("From Userinfo"));
}

// ---------------------------------------------------------------------------------------
// Hostile ID tokens

/// One bad token per case: (what to change, expected audit reason).
#[tokio::test]
async fn hostile_id_tokens_are_refused_with_the_exact_reason() {
    let fed = Fed::start().await;
    let op = &fed.op;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    type Make<'a> = Box<dyn Fn(&AuthReq) -> String + 'a>;
    let with = |f: Box<dyn Fn(&mut Value)>, kid: &'static str| -> Make<'_> {
        Box::new(move |req: &AuthReq| {
            let mut c = op.claims("victim", &req.nonce, "victim@hooli.test");
            f(&mut c);
            op.key(kid).sign(&c)
        })
    };
    let cases: Vec<(&str, Make<'_>, &str)> = vec![
        (
            "wrong iss",
            with(
                Box::new(|c| c["iss"] = json!("https://evil.example")),
                "rsa-1",
            ),
            "iss_mismatch",
        ),
        (
            "missing sub",
            with(
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
                "rsa-1",
            ),
            "sub_missing",
        ),
        (
            "wrong aud",
            with(Box::new(|c| c["aud"] = json!("someone-else")), "rsa-1"),
            "aud_mismatch",
        ),
        (
            "missing aud",
            with(
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
                "rsa-1",
            ),
            "aud_missing",
        ),
        (
            "extra audience without azp",
            with(
                Box::new(|c| c["aud"] = json!([CLIENT_ID, "other"])),
                "rsa-1",
            ),
            "azp_missing",
        ),
        (
            "extra audience with a wrong azp",
            with(
                Box::new(|c| {
                    c["aud"] = json!([CLIENT_ID, "other"]);
                    c["azp"] = json!("other");
                }),
                "rsa-1",
            ),
            "azp_mismatch",
        ),
        (
            "missing iat",
            with(
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("iat");
                }),
                "rsa-1",
            ),
            "iat_missing",
        ),
        (
            "expired",
            with(
                Box::new(move |c| {
                    c["exp"] = json!(now - 120);
                    c["iat"] = json!(now - 600);
                }),
                "rsa-1",
            ),
            "expired",
        ),
        (
            "iat in the future",
            with(Box::new(move |c| c["iat"] = json!(now + 600)), "rsa-1"),
            "iat_in_future",
        ),
        (
            "nonce mismatch",
            with(Box::new(|c| c["nonce"] = json!("another-nonce")), "rsa-1"),
            "nonce_mismatch",
        ),
        (
            "bad RS256 signature (another key, the IdP's kid)",
            Box::new(|req: &AuthReq| {
                op.key("rsa-rogue").sign_as(
                    &op.claims("victim", &req.nonce, "victim@hooli.test"),
                    "rsa-1",
                )
            }),
            "bad_signature",
        ),
        (
            "bad ES256 signature (another key, the IdP's kid)",
            Box::new(|req: &AuthReq| {
                op.key("ec-rogue").sign_as(
                    &op.claims("victim", &req.nonce, "victim@hooli.test"),
                    "ec-1",
                )
            }),
            "bad_signature",
        ),
        (
            "alg none",
            Box::new(|req: &AuthReq| {
                let c = op.claims("victim", &req.nonce, "victim@hooli.test");
                format!(
                    "{}.{}.",
                    b64(&json!({"alg": "none", "kid": "rsa-1"})),
                    b64(&c)
                )
            }),
            "alg_none",
        ),
        (
            "HS256 keyed with the IdP's public key",
            Box::new(|req: &AuthReq| {
                let c = op.claims("victim", &req.nonce, "victim@hooli.test");
                let public = serde_json::to_vec(&op.key("rsa-1").jwk).unwrap();
                let mut h = Header::new(Algorithm::HS256);
                h.kid = Some("rsa-1".into());
                jsonwebtoken::encode(&h, &c, &EncodingKey::from_secret(&public)).unwrap()
            }),
            "alg_not_allowed",
        ),
        (
            "garbage",
            Box::new(|_: &AuthReq| "not.a.jwt".to_string()),
            "id_token_malformed",
        ),
    ];
    for (what, make, reason) in cases {
        let b = fed.browser();
        let r = fed.login_with(&b, |req| make(req)).await;
        assert_refused(&b, &r, 400, REJECTED);
        let e = fed.last_audit("login.oidc").await;
        assert_eq!(e.details["reason"], reason, "{what}: {e:?}");
        assert_eq!(e.outcome, Outcome::Denied, "{what}");
    }
    // Nobody was provisioned by any of them.
    assert_eq!(fed.audit_count("login.federated").await, 0);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_then_fails() {
    let fed = Fed::start().await;
    let op = &fed.op;
    let b = fed.browser();
    // A first good login fills the cache.
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-1")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 1);
    // A token under a kid the IdP does not publish: one refetch, then refused.
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-rogue")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    assert_reason(&fed, "login.oidc", "unknown_kid").await;
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 2, "refetched once");
    // Again right away: rate-limited, no further fetch.
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-rogue")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    assert_reason(&fed, "login.oidc", "unknown_kid").await;
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 2, "rate-limited");
}

#[tokio::test]
async fn a_rolled_over_key_is_found_by_the_refetch() {
    let fed = Fed::start().await;
    let op = &fed.op;
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-1")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The IdP rolls over to rsa-2; Lobby's cached JWKS does not have it yet.
    op.st.cfg.lock().unwrap().published = vec!["rsa-2".into()];
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            op.key("rsa-2")
                .sign(&op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(op.st.jwks_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn email_verified_false_never_provisions() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("nv", &req.nonce, "nv@hooli.test");
            c["email_verified"] = json!(false);
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_refused(&b, &r, 403, "did not confirm your email address");
    assert_reason(&fed, "login.federated", "email_not_verified").await;
}

#[tokio::test]
async fn userinfo_with_another_sub_is_refused() {
    let fed = Fed::start().await;
    let b = fed.browser();
    *fed.op.st.userinfo.lock().unwrap() =
        json!({"sub": "someone-else", "email": "x@hooli.test", "email_verified": true});
    let r = fed
        .login_with(&b, |req| {
            let mut c = fed.op.claims("pat-4", &req.nonce, "");
            c.as_object_mut().unwrap().remove("email");
            fed.op.key("rsa-1").sign(&c)
        })
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    assert_reason(&fed, "login.oidc", "userinfo_sub_mismatch").await;
}

#[tokio::test]
async fn token_endpoint_errors_are_refused_cleanly() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    fed.op.will_answer_json(
        "c",
        &req.challenge,
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_grant", "error_description": "<b>bad</b>"}),
    );
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c"), ("state", &req.state)])
        .await;
    assert_refused(&b, &r, 400, REJECTED);
    let e = fed.last_audit("login.oidc").await;
    assert_eq!(e.details["reason"], "token_error");
}

// ---------------------------------------------------------------------------------------
// Binding: state, browser, connection

#[tokio::test]
async fn state_from_another_browser_is_refused_and_does_not_burn_the_flow() {
    let fed = Fed::start().await;
    let victim = fed.browser();
    let (req, _) = fed.to_idp(&victim, "pat@hooli.test", &[]).await;
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token);
    let attacker = fed.browser();
    // The attacker's browser has a binding cookie of its own.
    let (_, c) = pkce();
    attacker
        .start(&authorize_path("crm", CRM_CB, &c, &[]))
        .await;
    let r = fed
        .callback(
            &attacker,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_refused(&attacker, &r, 400, "started in another browser");
    assert_reason(&fed, "login.oidc", "wrong_browser").await;
    // And with no cookie at all.
    let bare = fed.browser();
    let r = fed
        .callback(&bare, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_refused(&bare, &r, 400, "started in another browser");
    // The victim's sign-in still completes.
    let r = fed
        .callback(
            &victim,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(CRM_CB));
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let token = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    fed.op.will_answer("c1", &req.challenge, token.clone());
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303);
    // The same answer again (new browser session, same cookies): nothing.
    fed.op.will_answer("c1", &req.challenge, token);
    let mut jar = b.jar.lock().unwrap().clone();
    jar.remove("lobby_session");
    let replay = fed.browser();
    *replay.jar.lock().unwrap() = jar;
    let r = fed
        .callback(
            &replay,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_refused(&replay, &r, 400, "expired or was already completed");
    assert_reason(&fed, "login.oidc", "state_unknown").await;
    // A made-up state likewise.
    let r = fed
        .callback(&replay, "hooli-idp", &[("code", "c1"), ("state", "forged")])
        .await;
    assert_refused(&replay, &r, 400, "expired or was already completed");
}

#[tokio::test]
async fn mix_up_a_code_arriving_on_another_orgs_connection_is_refused() {
    let fed = Fed::start().await;
    // The user is sent to hooli's IdP; pied's IdP (or an attacker there) answers on pied's
    // callback with hooli's state.
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let token = fed.op2.key("rsa-1").sign(
        &json!({"iss": fed.op2.issuer(), "sub": "x", "aud": CLIENT_ID,
            "exp": 4_000_000_000i64, "iat": 1_700_000_000, "nonce": req.nonce,
            "email": "pat@hooli.test", "email_verified": true}),
    );
    fed.op2.will_answer("c1", &req.challenge, token);
    let r = fed
        .callback(
            &b,
            "pied-idp",
            &[
                ("code", "c1"),
                ("state", &req.state),
                ("iss", &fed.op2.issuer()),
            ],
        )
        .await;
    assert_refused(&b, &r, 400, MISMATCH);
    assert_reason(&fed, "login.oidc", "connection_mismatch").await;
    assert!(
        fed.op2.st.codes.lock().unwrap().contains_key("c1"),
        "the code was never redeemed"
    );

    // On the right callback but with pied's issuer in `iss` (RFC 9207).
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let r = fed
        .callback(
            &b,
            "hooli-idp",
            &[
                ("code", "c1"),
                ("state", &req.state),
                ("iss", &fed.op2.issuer()),
            ],
        )
        .await;
    assert_refused(&b, &r, 400, MISMATCH);
    assert_reason(&fed, "login.oidc", "iss_param_mismatch").await;
}

#[tokio::test]
async fn an_idp_that_always_sends_iss_must_send_it() {
    let fed = Fed::start_with(|c| c.iss_param_supported = true).await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "c1"), ("state", &req.state)])
        .await;
    assert_refused(&b, &r, 400, MISMATCH);
    assert_reason(&fed, "login.oidc", "iss_param_missing").await;
}

#[tokio::test]
async fn idp_errors_show_the_escaped_description_and_offer_the_way_back() {
    let fed = Fed::start().await;
    let b = fed.browser();
    let (req, _) = fed.to_idp(&b, "pat@hooli.test", &[]).await;
    let r = fed
        .callback(
            &b,
            "hooli-idp",
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "User <script>alert(1)</script> cancelled",
                ),
                ("state", &req.state),
            ],
        )
        .await;
    assert_refused(&b, &r, 403, "Sign-in was cancelled or refused");
    assert!(!r.body.contains("<script>alert"));
    assert!(unescape(&r.body).contains("User <script>alert(1)</script> cancelled"));
    // The link back carries the OAuth error to the app, with its state and Lobby's iss.
    let i = r
        .body
        .find("id=\"back-to-app\" class=\"button\" href=\"")
        .unwrap();
    let rest = &r.body[i + "id=\"back-to-app\" class=\"button\" href=\"".len()..];
    let href = unescape(&rest[..rest.find('"').unwrap()]);
    let u = url::Url::parse(&href).unwrap();
    assert!(href.starts_with(CRM_CB));
    let q: BTreeMap<String, String> = u.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], fed.base);
    let e = fed.last_audit("login.oidc").await;
    assert_eq!(e.details["reason"], "idp_error");
    assert_eq!(e.details["detail"]["error"], "access_denied");
}

// ---------------------------------------------------------------------------------------
// Hostile metadata and keys

async fn jwks_case(
    jwks_uri: impl FnOnce(&str) -> String,
    status: u16,
    sentence: &str,
    reason: &str,
) {
    let fed = Fed::start_with(|_| {}).await;
    let uri = jwks_uri(&fed.op.issuer());
    fed.op.st.cfg.lock().unwrap().jwks_uri = Some(uri);
    let b = fed.browser();
    let started = std::time::Instant::now();
    let r = fed
        .login_with(&b, |req| {
            fed.op
                .key("rsa-1")
                .sign(&fed.op.claims("p", &req.nonce, "p@hooli.test"))
        })
        .await;
    assert!(started.elapsed() < Duration::from_secs(8), "bounded time");
    assert_refused(&b, &r, status, sentence);
    let e = fed.last_audit("login.oidc").await;
    assert_eq!(e.details["reason"], reason, "{e:?}");
    assert_eq!(e.outcome, Outcome::Failure);
}

#[tokio::test]
async fn jwks_at_the_metadata_address_is_refused() {
    jwks_case(
        |_| "http://169.254.169.254/latest/meta-data/jwks".into(),
        502,
        MISCONFIGURED,
        "jwks_blocked",
    )
    .await;
}

#[tokio::test]
async fn jwks_redirecting_to_the_metadata_address_is_refused() {
    jwks_case(
        |b| format!("{b}/jwks-redirect"),
        502,
        MISCONFIGURED,
        "jwks_blocked",
    )
    .await;
}

#[tokio::test]
async fn a_50_mb_jwks_is_cut_off() {
    jwks_case(
        |b| format!("{b}/jwks-huge"),
        502,
        UNREACHABLE,
        "jwks_too_large",
    )
    .await;
}

#[tokio::test]
async fn a_jwks_that_never_answers_times_out() {
    jwks_case(
        |b| format!("{b}/jwks-hang"),
        502,
        UNREACHABLE,
        "jwks_timeout",
    )
    .await;
}

#[tokio::test]
async fn discovery_with_another_issuer_is_refused_before_leaving_lobby() {
    let fed = Fed::start_with(|c| c.discovery_issuer = Some("https://evil.example".into())).await;
    let b = fed.browser();
    let (_, challenge) = pkce();
    let flow = b
        .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
        .await;
    let page = b.get(&format!("/login?flow={flow}")).await;
    let csrf = page.hidden("csrf");
    let r = b
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", &csrf),
                ("email", "pat@hooli.test"),
            ],
        )
        .await;
    assert_refused(&b, &r, 502, MISCONFIGURED);
    assert_reason(&fed, "login.oidc", "discovery_issuer_mismatch").await;
}

// ---------------------------------------------------------------------------------------
// Invitations through the IdP

#[tokio::test]
async fn an_invited_user_redeems_the_invitation_through_the_idp() {
    let fed = Fed::start().await;
    // No JIT for hooli: only the invitation gets this person in.
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let mut link = s
        .get_link(&hooli, &AppId::parse("crm").unwrap())
        .await
        .unwrap()
        .unwrap();
    link.jit = false;
    s.update_link(&link).await.unwrap();
    let token = random_token();
    let inv = Invitation {
        id: InvitationId::generate(),
        org_id: hooli.clone(),
        email: Email::parse("new@hooli.test").unwrap(),
        roles: [(AppId::parse("crm").unwrap(), [rv("sales")].into())].into(),
        org_roles: Default::default(),
        token_hash: TokenHash::of(&token),
        status: InvitationStatus::Pending,
        expires_at: now() + time::Duration::days(1),
        invited_by: "operator".into(),
        version: 1,
        created_at: now(),
    };
    s.create_invitation(&inv).await.unwrap();
    // Without the invitation: no access.
    let b = fed.browser();
    let r = fed
        .login_with(&b, |req| {
            fed.op
                .key("rsa-1")
                .sign(&fed.op.claims("new-1", &req.nonce, "new@hooli.test"))
        })
        .await;
    assert_refused(
        &b,
        &r,
        403,
        "Ask your organization's administrator to invite you",
    );
    assert_reason(&fed, "login.federated", "not_provisioned").await;
    // With it (the app passes `invitation=`).
    let b = fed.browser();
    let (req, verifier) = fed
        .to_idp(&b, "new@hooli.test", &[("invitation", &token)])
        .await;
    let t = fed
        .op
        .key("rsa-1")
        .sign(&fed.op.claims("new-1", &req.nonce, "new@hooli.test"));
    fed.op.will_answer("ci", &req.challenge, t);
    let r = fed
        .callback(&b, "hooli-idp", &[("code", "ci"), ("state", &req.state)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let tokens = fed
        .app_tokens(&r.redirect_params()["code"], &verifier)
        .await;
    let id = crate::provider::fixture::jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    assert_eq!(id["roles"], json!(["finance", "sales"]));
    assert_eq!(
        fed.last_audit("login.federated").await.details["via"],
        "invitation"
    );
    let stored = s.get_invitation(&hooli, &inv.id).await.unwrap().unwrap();
    assert_eq!(stored.status, InvitationStatus::Accepted);
}

// ---------------------------------------------------------------------------------------
// Admin: the connection test endpoint and write-only secrets

#[tokio::test]
async fn the_connection_test_reports_in_plain_words() {
    let fed = Fed::start().await;
    let client = reqwest::Client::new();
    let base = fed.base.clone();
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client
                .get(format!("{base}/api/v1{path}"))
                .bearer_auth("test-admin-token-0123456789")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = get("/orgs/hooli/connections/hooli-idp/test".into()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["discovery_fetch", "issuer_match", "jwks", "client_secret"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    // Another org's connection is a 404 under this org.
    let (s, _) = get("/orgs/hooli/connections/pied-idp/test".into()).await;
    assert_eq!(s, 404);
    // A wrong issuer is reported as such.
    fed.op.st.cfg.lock().unwrap().discovery_issuer = Some(format!("{}/", fed.op.issuer()));
    let (s, v) = get("/orgs/hooli/connections/hooli-idp/test".into()).await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], false);
    let bad = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ok"] == false)
        .unwrap();
    assert_eq!(bad["name"], "issuer_match");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("must be identical")
    );
    // JWKS pointing at the metadata service.
    {
        let mut c = fed.op.st.cfg.lock().unwrap();
        c.discovery_issuer = None;
        c.jwks_uri = Some("http://169.254.169.254/jwks".into());
    }
    let (_, v) = get("/orgs/hooli/connections/hooli-idp/test".into()).await;
    let jwks = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "jwks")
        .unwrap();
    assert_eq!(jwks["ok"], false);
    assert!(
        jwks["message"].as_str().unwrap().contains("not allowed"),
        "{jwks}"
    );
    // The secret never leaves through the API.
    let (_, c) = get("/orgs/hooli/connections/hooli-idp".into()).await;
    assert_eq!(c["config"]["client_secret_set"], true);
    assert!(!c.to_string().contains("with spaces"));
}

// ---------------------------------------------------------------------------------------
// Several instances (DESIGN §5)

/// Started on one instance, the IdP's answer lands on another (shared Redis and database):
/// it completes there, once; the same answer replayed on the first instance is refused.
#[tokio::test]
async fn a_federated_login_started_on_one_instance_finishes_on_another() {
    let Ok(redis) = std::env::var("LOBBY_TEST_REDIS_URL") else {
        eprintln!("note: LOBBY_TEST_REDIS_URL is not set; multi-instance OIDC test not run");
        return;
    };
    let prefix = format!("lobby:it:oidc:{}:", random_token());
    let a = Fed::boot(|_| {}, Some((redis, prefix))).await;
    assert_eq!(a.st.ephemeral.backend(), "redis");
    let (b_base, b_st, b_server) = a.second_instance().await;
    let browser = a.browser();
    let (req, verifier) = a.to_idp(&browser, "pat@hooli.test", &[]).await;
    let token =
        a.op.key("rsa-1")
            .sign(&a.op.claims("pat-1", &req.nonce, "pat@hooli.test"));
    a.op.will_answer("c1", &req.challenge, token.clone());
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("code", "c1"), ("state", req.state.as_str())])
        .finish();
    let r = browser
        .get(&format!("{b_base}/sso/oidc/hooli-idp/callback?{query}"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let q = r.redirect_params();
    assert_eq!(q["iss"], a.base, "one issuer for every instance");
    let t = a.app_tokens(&q["code"], &verifier).await;
    let id = crate::provider::fixture::jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "hooli");
    // Replayed on A: the state was consumed on B.
    a.op.will_answer("c1", &req.challenge, token);
    let replay = a.browser();
    *replay.jar.lock().unwrap() = browser.jar.lock().unwrap().clone();
    let r = a
        .callback(
            &replay,
            "hooli-idp",
            &[("code", "c1"), ("state", &req.state)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.headers.get("location").is_none());
    assert_reason(&a, "login.oidc", "state_unknown").await;
    drop(b_st);
    b_server.abort();
}

/// client_secret_post and none (RFC 6749 §2.3.1, OIDC Core §9) as configured per connection.
#[tokio::test]
async fn token_endpoint_auth_methods_follow_the_connection() {
    let fed = Fed::start().await;
    let s = fed.st.storage.as_ref();
    let hooli = OrgId::parse("hooli").unwrap();
    let id = ConnectionId::parse("hooli-idp").unwrap();
    for (method, expect_secret) in [
        (TokenEndpointAuthMethod::ClientSecretPost, true),
        (TokenEndpointAuthMethod::None, false),
    ] {
        let mut c = s.get_connection(&hooli, &id).await.unwrap().unwrap();
        if let ConnectionConfig::Oidc(o) = &mut c.config {
            o.token_endpoint_auth_method = method;
        }
        s.update_connection(&c).await.unwrap();
        fed.op.st.token_auth.lock().unwrap().clear();
        let b = fed.browser();
        let r = fed
            .login_with(&b, |req| {
                fed.op
                    .key("rsa-1")
                    .sign(&fed.op.claims("pat-m", &req.nonce, "pat@hooli.test"))
            })
            .await;
        assert_eq!(r.status, 303, "{method:?}: {}", r.body);
        let (auth, form) = fed.op.st.token_auth.lock().unwrap()[0].clone();
        assert!(auth.is_none(), "{method:?}: no Basic header");
        assert_eq!(form["client_id"], CLIENT_ID);
        assert_eq!(
            form.get("client_secret").map(String::as_str),
            expect_secret.then_some(CLIENT_SECRET),
            "{method:?}"
        );
        assert!(form.contains_key("code_verifier"));
    }
}
