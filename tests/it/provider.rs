//! OIDC provider endpoints through HTTP: discovery, JWKS, the code flow end to end (single-org
//! and multi-org users), token endpoint rules (client auth, PKCE, code reuse, expiry, grants),
//! refresh rotation and reuse, userinfo, revoke, introspect, logout.
//!
//! `fixture` boots Lobby on 127.0.0.1:0 (temp-dir SQLite, memory state, a `ManualClock`),
//! seeds a small tenant through the storage API, and drives it with a cookie-keeping browser
//! that never follows redirects. `tests/it/login.rs` reuses it.

#![allow(dead_code)]

pub mod fixture {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use lobby::app::{AppState, Boot, Server};
    use lobby::config::Config;
    use lobby::domain::*;
    use lobby::storage::Storage;
    use serde_json::Value;
    use sha2::{Digest, Sha256};
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Arc, Mutex};
    use time::OffsetDateTime;

    pub const CRM_SECRET: &str = "crm-secret-0123456789-0123456789-abcdef";
    pub const CRM_CB: &str = "http://127.0.0.1:9/crm/cb";
    pub const CRM_BYE: &str = "http://127.0.0.1:9/crm/bye";
    pub const PORTAL_CB: &str = "http://127.0.0.1:9/portal/cb";
    pub const PASSWORD: &str = "correct horse battery staple";

    /// Where a test Lobby keeps its data. Default: a temp-dir SQLite file, memory state, its
    /// own address as issuer, a generated seal key, seeded.
    pub struct Backends {
        pub database_url: Option<String>,
        /// Redis for state (under `redis_prefix`) and sessions.
        pub redis_url: Option<String>,
        pub redis_prefix: Option<String>,
        pub public_url: Option<String>,
        /// `LOBBY_SECRET_KEY` (instances sharing a database must share it).
        pub secret_key: Option<String>,
        pub seed: bool,
    }

    impl Default for Backends {
        fn default() -> Self {
            Self {
                database_url: None,
                redis_url: None,
                redis_prefix: None,
                public_url: None,
                secret_key: None,
                seed: true,
            }
        }
    }

    /// A running Lobby with the seeded tenant.
    pub struct Lobby {
        pub base: String,
        pub st: AppState,
        pub clock: Arc<ManualClock>,
        _dir: tempfile::TempDir,
        server: tokio::task::JoinHandle<()>,
    }

    impl Drop for Lobby {
        fn drop(&mut self) {
            self.server.abort();
        }
    }

    fn t0() -> OffsetDateTime {
        trunc_millis(OffsetDateTime::now_utc())
    }

    pub fn rv(s: &str) -> RoleValue {
        RoleValue::parse(s).unwrap()
    }
    pub fn org_id(s: &str) -> OrgId {
        OrgId::parse(s).unwrap()
    }
    pub fn app_id(s: &str) -> AppId {
        AppId::parse(s).unwrap()
    }
    pub fn user_id(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    impl Lobby {
        /// Boot on port 0 and seed:
        /// - app `crm` (confidential, RS256) with roles sales / after-sales / finance and role
        ///   groups `narrow` (sales) and `broad` (all three); app `portal` (public, ES256).
        /// - orgs `acme` (verified acme.test, crm: broad, portal) and `globex` (verified
        ///   globex.test, crm: narrow), each with an active password connection; org `initech`
        ///   (verified initech.test) whose crm link uses an OIDC connection only.
        /// - users alice@acme.test (acme: sales, finance on crm) and bob@acme.test (acme:
        ///   after-sales + org_admin; globex: sales), password `PASSWORD`; carol@acme.test, an
        ///   acme member without a crm link to any org she is in… (see `seed`).
        pub async fn start() -> Lobby {
            Self::boot(Backends::default()).await
        }

        /// Boot with other backends (PostgreSQL, Redis, a shared issuer): see [`Backends`].
        pub async fn boot(b: Backends) -> Lobby {
            let dir = tempfile::tempdir().unwrap();
            let url = b
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}/lobby.db?mode=rwc", dir.path().display()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut config = Config::for_tests(&url, dir.path());
            config.public_url = url::Url::parse(
                &b.public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{addr}/")),
            )
            .unwrap();
            config.redis_url = b.redis_url.clone().map(Secret::new);
            config.secret_key = b.secret_key.clone().map(Secret::new);
            let storage = lobby::storage::open(&url).await.unwrap();
            let clock = Arc::new(ManualClock::new(t0()));
            let dyn_clock: Arc<dyn Clock> = clock.clone();
            let state: Arc<dyn lobby::state::StateStore> = match (&b.redis_url, &b.redis_prefix) {
                (Some(r), Some(prefix)) => {
                    Arc::new(lobby::state::RedisState::connect(r, prefix).await.unwrap())
                }
                _ => lobby::state::open(None, dyn_clock.clone()).await.unwrap(),
            };
            let app = Server::build(
                config,
                Boot {
                    storage: Some(storage),
                    ephemeral: Some(state),
                    clock: Some(dyn_clock),
                    ..Boot::default()
                },
            )
            .await
            .unwrap();
            let st = app.state;
            if b.seed {
                seed(st.storage.as_ref(), clock.now()).await;
            }
            let router = app.router;
            let server = tokio::spawn(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                )
                .await
                .unwrap();
            });
            Lobby {
                base: format!("http://{addr}"),
                st,
                clock,
                _dir: dir,
                server,
            }
        }

        pub fn browser(&self) -> Browser {
            Browser::new(&self.base)
        }

        pub fn storage(&self) -> &dyn Storage {
            self.st.storage.as_ref()
        }

        /// A plain HTTP client (no cookies, no redirects).
        pub fn http(&self) -> reqwest::Client {
            client()
        }

        pub fn url(&self, path: &str) -> String {
            format!("{}{path}", self.base)
        }

        /// POST a form to `/token` as `crm` with client_secret_basic.
        pub async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
            self.token_as(form, Some(("crm", CRM_SECRET))).await
        }

        pub async fn token_as(
            &self,
            form: &[(&str, &str)],
            basic: Option<(&str, &str)>,
        ) -> (u16, Value) {
            self.post_json("/token", form, basic).await
        }

        pub async fn post_json(
            &self,
            path: &str,
            form: &[(&str, &str)],
            basic: Option<(&str, &str)>,
        ) -> (u16, Value) {
            let mut req = self.http().post(self.url(path)).form(form);
            if let Some((id, secret)) = basic {
                req = req.header(
                    "authorization",
                    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
                );
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            let v = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            (status, v)
        }

        /// Exchange a code (crm, client_secret_basic) and assert success.
        pub async fn exchange(&self, code: &str, verifier: &str) -> Value {
            let (status, v) = self
                .token(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", CRM_CB),
                    ("code_verifier", verifier),
                ])
                .await;
            assert_eq!(status, 200, "token exchange failed: {v}");
            v
        }

        pub async fn userinfo(&self, access_token: &str) -> (u16, Value) {
            let res = self
                .http()
                .get(self.url("/userinfo"))
                .bearer_auth(access_token)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json().await.unwrap_or(Value::Null))
        }

        /// Verify a JWT the way a relying party would: with the key from `/jwks` named by `kid`.
        pub async fn verify_jwt(&self, token: &str) -> (jsonwebtoken::Header, Value) {
            let header = jsonwebtoken::decode_header(token).unwrap();
            let jwks: jsonwebtoken::jwk::JwkSet = self
                .http()
                .get(self.url("/jwks"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let kid = header.kid.clone().expect("kid in header");
            let jwk = jwks.find(&kid).expect("kid published in /jwks");
            let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            let mut v = jsonwebtoken::Validation::new(header.alg);
            v.validate_aud = false;
            v.leeway = 3600 * 24;
            let data = jsonwebtoken::decode::<Value>(token, &key, &v).unwrap();
            (header, data.claims)
        }
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The payload of a JWT, without verification.
    pub fn jwt_claims(token: &str) -> Value {
        let p = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    }

    /// PKCE: (verifier, S256 challenge).
    pub fn pkce() -> (String, String) {
        let verifier = format!("{}{}", random_token(), "-._~");
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        (verifier, challenge)
    }

    /// An `/authorize` URL for `client_id` with PKCE S256; `extra` adds or overrides params.
    pub fn authorize_path(
        client_id: &str,
        redirect_uri: &str,
        challenge: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut params: Vec<(String, String)> = vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client_id.into()),
            ("redirect_uri".into(), redirect_uri.into()),
            ("scope".into(), "openid email profile".into()),
            ("state".into(), "st-123".into()),
            ("nonce".into(), "n-456".into()),
            ("code_challenge".into(), challenge.into()),
            ("code_challenge_method".into(), "S256".into()),
        ];
        for (k, v) in extra {
            params.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                params.push(((*k).into(), (*v).into()));
            }
        }
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("/authorize?{q}")
    }

    /// One HTTP response, read fully.
    #[derive(Debug)]
    pub struct Resp {
        pub status: u16,
        pub headers: reqwest::header::HeaderMap,
        pub body: String,
    }

    impl Resp {
        pub fn location(&self) -> String {
            self.headers
                .get("location")
                .unwrap_or_else(|| panic!("no Location; status {} body {}", self.status, self.body))
                .to_str()
                .unwrap()
                .to_owned()
        }
        /// The query parameters of the Location.
        pub fn redirect_params(&self) -> BTreeMap<String, String> {
            let loc = self.location();
            let u = url::Url::parse(&loc)
                .or_else(|_| url::Url::parse("http://x").unwrap().join(&loc))
                .unwrap();
            u.query_pairs().into_owned().collect()
        }
        /// The value of a hidden input.
        pub fn hidden(&self, name: &str) -> String {
            let needle = format!("name=\"{name}\" value=\"");
            let i = self
                .body
                .find(&needle)
                .unwrap_or_else(|| panic!("no hidden {name} in {}", self.body));
            let rest = &self.body[i + needle.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        }
    }

    /// A browser: keeps cookies (by name, for this one origin), never follows redirects.
    pub struct Browser {
        base: String,
        client: reqwest::Client,
        pub jar: Mutex<BTreeMap<String, String>>,
    }

    impl Browser {
        pub fn new(base: &str) -> Self {
            Self {
                base: base.to_owned(),
                client: client(),
                jar: Mutex::new(BTreeMap::new()),
            }
        }

        fn abs(&self, path: &str) -> String {
            if path.starts_with("http") {
                path.to_owned()
            } else {
                format!("{}{path}", self.base)
            }
        }

        fn cookie_header(&self) -> Option<String> {
            let jar = self.jar.lock().unwrap();
            (!jar.is_empty()).then(|| {
                jar.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        }

        fn keep_cookies(&self, res: &reqwest::Response) {
            let mut jar = self.jar.lock().unwrap();
            for h in res.headers().get_all("set-cookie") {
                let s = h.to_str().unwrap();
                let first = s.split(';').next().unwrap();
                let (k, v) = first.split_once('=').unwrap();
                let expired = s.to_ascii_lowercase().contains("max-age=0");
                if expired || v.is_empty() {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
        }

        async fn finish(&self, res: reqwest::Response) -> Resp {
            self.keep_cookies(&res);
            Resp {
                status: res.status().as_u16(),
                headers: res.headers().clone(),
                body: res.text().await.unwrap(),
            }
        }

        pub async fn get(&self, path: &str) -> Resp {
            let mut req = self.client.get(self.abs(path));
            if let Some(c) = self.cookie_header() {
                req = req.header("cookie", c);
            }
            let res = req.send().await.unwrap();
            self.finish(res).await
        }

        pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
            let mut req = self.client.post(self.abs(path)).form(form);
            if let Some(c) = self.cookie_header() {
                req = req.header("cookie", c);
            }
            let res = req.send().await.unwrap();
            self.finish(res).await
        }

        pub fn cookie(&self, name: &str) -> Option<String> {
            self.jar.lock().unwrap().get(name).cloned()
        }

        /// `/authorize` for crm (PKCE S256, `extra` params added) that must redirect; returns
        /// the PKCE verifier and the redirect (to the hosted login, or straight to an IdP).
        pub async fn authorize_crm(&self, extra: &[(&str, &str)]) -> (String, Resp) {
            let (verifier, challenge) = pkce();
            let r = self
                .get(&authorize_path("crm", CRM_CB, &challenge, extra))
                .await;
            assert_eq!(r.status, 303, "authorize: {}", r.body);
            (verifier, r)
        }

        /// Start at `/authorize` and follow to the identifier page; returns the flow id.
        pub async fn start(&self, authorize: &str) -> String {
            let r = self.get(authorize).await;
            assert_eq!(r.status, 303, "authorize: {}", r.body);
            let loc = r.location();
            assert!(loc.starts_with("/login?flow="), "{loc}");
            loc["/login?flow=".len()..].to_owned()
        }

        /// Identifier + password pages; returns the response of the password POST.
        pub async fn sign_in(&self, flow: &str, email: &str, password: &str) -> Resp {
            let page = self.get(&format!("/login?flow={flow}")).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let csrf = page.hidden("csrf");
            let r = self
                .post(
                    "/login",
                    &[("flow", flow), ("csrf", &csrf), ("email", email)],
                )
                .await;
            assert_eq!(r.status, 303, "identifier: {}", r.body);
            assert_eq!(r.location(), format!("/login/password?flow={flow}"));
            let page = self.get(&r.location()).await;
            assert_eq!(page.status, 200);
            let csrf = page.hidden("csrf");
            self.post(
                "/login/password",
                &[("flow", flow), ("csrf", &csrf), ("password", password)],
            )
            .await
        }

        /// On the chooser page, press the button of the org with this slug.
        pub async fn choose(&self, flow: &str, slug: &str) -> Resp {
            let page = self.get(&format!("/login/org?flow={flow}")).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let marker = format!("data-org-slug=\"{slug}\"");
            assert!(page.body.contains(&marker), "no button for {slug}");
            // The button's value is the org id, just before its id/data attributes.
            let i = page.body.find(&marker).unwrap();
            let before = &page.body[..i];
            let v = before.rfind("value=\"").unwrap();
            let id = &before[v + 7..];
            let id = &id[..id.find('"').unwrap()];
            let csrf = page.hidden("csrf");
            self.post(
                "/login/org",
                &[("flow", flow), ("csrf", &csrf), ("org", id)],
            )
            .await
        }
    }

    /// The code from a redirect to the client, with `state` and `iss` checked.
    pub fn code_from(r: &Resp, base: &str, redirect_uri: &str) -> String {
        assert_eq!(
            r.status, 303,
            "expected a redirect to the client: {}",
            r.body
        );
        let loc = r.location();
        assert!(
            loc.starts_with(&format!("{redirect_uri}?")),
            "redirect to {loc}"
        );
        let p = r.redirect_params();
        assert_eq!(p.get("state").map(String::as_str), Some("st-123"));
        assert_eq!(p.get("iss").map(String::as_str), Some(base));
        p.get("code").expect("code").clone()
    }

    /// A full login for `email` at crm (choosing `org_slug` when the chooser shows); returns
    /// (code, verifier).
    pub async fn crm_login(
        lobby: &Lobby,
        b: &Browser,
        email: &str,
        org_slug: Option<&str>,
    ) -> (String, String) {
        let (verifier, challenge) = pkce();
        let flow = b
            .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
            .await;
        let mut r = b.sign_in(&flow, email, PASSWORD).await;
        if let Some(slug) = org_slug {
            assert_eq!(r.location(), format!("/login/org?flow={flow}"));
            r = b.choose(&flow, slug).await;
        }
        (code_from(&r, &lobby.base, CRM_CB), verifier)
    }

    async fn seed(s: &dyn Storage, now: OffsetDateTime) {
        let app = |id: &str, client_type: ClientType, secret: Option<&str>, cb: &str, alg| App {
            id: app_id(id),
            name: id.to_uppercase(),
            client_id: ClientId::parse(id).unwrap(),
            client_type,
            client_secret_hash: secret.map(TokenHash::of),
            redirect_uris: vec![cb.into()],
            post_logout_redirect_uris: vec![CRM_BYE.into()],
            signing_alg: alg,
            token_lifetimes: TokenLifetimes::default(),
            invite_ttl_secs: 86400,
            revoke_on: MemberEvent::ALL.into_iter().collect(),
            auth_policy: AppAuthPolicy::default(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        s.create_app(&app(
            "crm",
            ClientType::Confidential,
            Some(CRM_SECRET),
            CRM_CB,
            SigningAlg::RS256,
        ))
        .await
        .unwrap();
        s.create_app(&app(
            "portal",
            ClientType::Public,
            None,
            PORTAL_CB,
            SigningAlg::ES256,
        ))
        .await
        .unwrap();
        for (v, n) in [
            ("sales", "Sales"),
            ("after-sales", "After-sales"),
            ("finance", "Finance"),
        ] {
            s.create_role(&Role {
                app_id: app_id("crm"),
                value: rv(v),
                name: n.into(),
                description: String::new(),
            })
            .await
            .unwrap();
        }
        s.create_role(&Role {
            app_id: app_id("portal"),
            value: rv("viewer"),
            name: "Viewer".into(),
            description: String::new(),
        })
        .await
        .unwrap();
        let group = |id: &str, app: &str, roles: &[&str]| RoleGroup {
            id: RoleGroupId::parse(id).unwrap(),
            app_id: app_id(app),
            name: id.into(),
            roles: roles.iter().map(|r| rv(r)).collect(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        s.create_role_group(&group("narrow", "crm", &["sales"]))
            .await
            .unwrap();
        s.create_role_group(&group("broad", "crm", &["sales", "after-sales", "finance"]))
            .await
            .unwrap();
        s.create_role_group(&group("portal-all", "portal", &["viewer"]))
            .await
            .unwrap();
        let org = |id: &str, name: &str, color: Option<&str>| Org {
            id: org_id(id),
            slug: Slug::parse(id).unwrap(),
            name: name.into(),
            status: OrgStatus::Active,
            parent_id: None,
            branding: Branding {
                display_name: Some(format!("{name} Inc.")),
                logo_url: Some(format!("https://{id}.example.com/logo.png")),
                primary_color: color.map(str::to_owned),
            },
            version: 1,
            created_at: now,
            updated_at: now,
        };
        s.create_org(&org("acme", "Acme", Some("#aa3300")))
            .await
            .unwrap();
        s.create_org(&org("globex", "Globex", None)).await.unwrap();
        s.create_org(&org("initech", "Initech", None))
            .await
            .unwrap();
        for (o, d) in [
            ("acme", "acme.test"),
            ("globex", "globex.test"),
            ("initech", "initech.test"),
        ] {
            s.create_domain(&OrgDomain {
                org_id: org_id(o),
                domain: EmailDomain::parse(d).unwrap(),
                verified: true,
                verification_token: random_token(),
                verified_at: Some(now),
                created_at: now,
            })
            .await
            .unwrap();
        }
        let link = |o: &str, a: &str, groups: &[&str], policy: LinkAuthPolicy| OrgAppLink {
            org_id: org_id(o),
            app_id: app_id(a),
            allowed_role_groups: groups
                .iter()
                .map(|g| RoleGroupId::parse(g).unwrap())
                .collect(),
            auth_policy: policy,
            jit: false,
            default_roles: BTreeSet::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        s.create_link(&link("acme", "crm", &["broad"], LinkAuthPolicy::Inherit))
            .await
            .unwrap();
        s.create_link(&link("globex", "crm", &["narrow"], LinkAuthPolicy::Inherit))
            .await
            .unwrap();
        s.create_link(&link(
            "acme",
            "portal",
            &["portal-all"],
            LinkAuthPolicy::Inherit,
        ))
        .await
        .unwrap();
        s.create_link(&link(
            "globex",
            "portal",
            &["portal-all"],
            LinkAuthPolicy::Inherit,
        ))
        .await
        .unwrap();
        s.create_link(&link(
            "initech",
            "crm",
            &["narrow"],
            LinkAuthPolicy::Inherit,
        ))
        .await
        .unwrap();
        for o in ["acme", "globex"] {
            s.create_connection(&Connection {
                id: ConnectionId::parse(&format!("{o}-pw")).unwrap(),
                org_id: org_id(o),
                name: "Password".into(),
                state: ConnectionState::Active,
                config: ConnectionConfig::Password(PasswordConfig { min_length: 12 }),
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();
        }
        s.create_connection(&Connection {
            id: ConnectionId::parse("initech-sso").unwrap(),
            org_id: org_id("initech"),
            name: "Initech SSO".into(),
            state: ConnectionState::Active,
            config: ConnectionConfig::Oidc(OidcConfig {
                // Nothing listens on port 9 of loopback: the IdP is down (no DNS, no network).
                issuer: "http://127.0.0.1:9".into(),
                client_id: "lobby".into(),
                client_secret: None,
                scopes: vec!["openid".into()],
                token_endpoint_auth_method: TokenEndpointAuthMethod::None,
                allowed_algs: vec!["RS256".into()],
                claims: ClaimMapping::default(),
                role_mapping: vec![],
                require_email_verified: true,
            }),
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
        let hash = hash_password(PASSWORD).unwrap();
        for (id, email, name) in [
            ("alice", "alice@acme.test", "Alice A."),
            ("bob", "bob@acme.test", "Bob B."),
            ("dave", "dave@acme.test", "Dave D."),
        ] {
            s.create_user(&User {
                id: user_id(id),
                email: Email::parse(email).unwrap(),
                email_verified: true,
                name: Some(name.into()),
                password_hash: Some(hash.clone()),
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();
        }
        let member =
            |o: &str, u: &str, roles: &[(&str, &[&str])], org_roles: &[OrgRole]| Membership {
                org_id: org_id(o),
                user_id: user_id(u),
                status: MemberStatus::Active,
                roles: roles
                    .iter()
                    .map(|(a, rs)| (app_id(a), rs.iter().map(|r| rv(r)).collect()))
                    .collect(),
                org_roles: org_roles.iter().copied().collect(),
                version: 1,
                created_at: now,
                updated_at: now,
            };
        s.create_membership(&member(
            "acme",
            "alice",
            &[("crm", &["sales", "finance"]), ("portal", &["viewer"])],
            &[],
        ))
        .await
        .unwrap();
        s.create_membership(&member(
            "acme",
            "bob",
            &[("crm", &["after-sales"]), ("portal", &["viewer"])],
            &[OrgRole::OrgAdmin],
        ))
        .await
        .unwrap();
        s.create_membership(&member("globex", "bob", &[("crm", &["sales"])], &[]))
            .await
            .unwrap();
        // dave is a member of initech only: no password connection there.
        s.create_membership(&member("initech", "dave", &[("crm", &["sales"])], &[]))
            .await
            .unwrap();
    }
}

use fixture::*;
use serde_json::Value;

#[tokio::test]
async fn discovery_uses_the_public_url_and_advertises_the_contract() {
    let lobby = Lobby::start().await;
    let res = lobby
        .http()
        .get(lobby.url("/.well-known/openid-configuration"))
        .header("host", "evil.example.com")
        .header("x-forwarded-host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d: Value = res.json().await.unwrap();
    assert_eq!(d["issuer"], lobby.base.as_str());
    for (k, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(d[k], format!("{}{path}", lobby.base), "{k}");
    }
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert!(!d["grant_types_supported"].to_string().contains("password"));

    let jwks: Value = lobby
        .http()
        .get(lobby.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(keys.len() >= 3);
    for k in keys {
        assert!(k["kid"].is_string());
        assert!(k.get("d").is_none(), "no private parts in JWKS");
    }
}

#[tokio::test]
async fn single_org_code_flow_issues_tokens_with_org_and_roles() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 300);
    assert!(t["refresh_token"].as_str().unwrap().len() >= 43);

    let (header, id) = lobby.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(id["iss"], lobby.base.as_str());
    assert_eq!(id["sub"], "alice");
    assert_eq!(id["aud"], "crm");
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["email"], "alice@acme.test");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Alice A.");
    assert_eq!(id["org_id"], "acme");
    assert_eq!(id["org_slug"], "acme");
    assert_eq!(id["org_name"], "Acme");
    assert_eq!(id["roles"], serde_json::json!(["finance", "sales"]));
    assert!(
        id.get("org_roles").is_none(),
        "org_roles only when non-empty"
    );
    assert_eq!(id["idp"], "acme-pw");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert!(id["sid"].is_string() && id["auth_time"].is_i64());
    // at_hash: left half of SHA-256 of the access token (OIDC Core §3.1.3.6).
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(
        id["at_hash"],
        lobby::provider::token::at_hash(at, SigningAlg::RS256)
    );

    let (aheader, a) = lobby.verify_jwt(at).await;
    assert_eq!(aheader.typ.as_deref(), Some("at+jwt"));
    assert_eq!(a["client_id"], "crm");
    assert_eq!(a["aud"], "crm");
    assert_eq!(a["org_id"], "acme");
    assert_eq!(a["roles"], serde_json::json!(["finance", "sales"]));
    assert_eq!(a["sid"], id["sid"]);
    assert!(a["jti"].is_string());
    assert_eq!(a["scope"], "openid email profile");

    let (status, ui) = lobby.userinfo(at).await;
    assert_eq!(status, 200);
    assert_eq!(ui["sub"], "alice");
    assert_eq!(ui["email"], "alice@acme.test");
    assert_eq!(ui["org_id"], "acme");
    // POST with the Bearer header works too.
    let res = lobby
        .http()
        .post(lobby.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A signed-in audit event was written.
    let audit = lobby
        .storage()
        .list_audit(
            &lobby::storage::AuditFilter {
                org_id: Some(org_id("acme")),
                action: Some("login.success".into()),
            },
            &lobby::storage::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].actor, "user:alice");
}

use lobby::domain::SigningAlg;

#[tokio::test]
async fn multi_org_user_chooses_org_b_and_gets_only_b_roles() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "bob@acme.test", Some("globex")).await;
    let t = lobby.exchange(&code, &verifier).await;
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "globex");
    assert_eq!(id["org_slug"], "globex");
    assert_eq!(id["roles"], serde_json::json!(["sales"]));
    assert!(
        id.get("org_roles").is_none(),
        "bob is org_admin in acme only"
    );
    assert_eq!(id["idp"], "globex-pw");
    let a = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(a["org_id"], "globex");
    assert_eq!(a["roles"], serde_json::json!(["sales"]));

    // Choosing acme instead gives acme's roles and org_roles.
    let b2 = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b2, "bob@acme.test", Some("acme")).await;
    let t = lobby.exchange(&code, &verifier).await;
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], "acme");
    assert_eq!(id["roles"], serde_json::json!(["after-sales"]));
    assert_eq!(id["org_roles"], serde_json::json!(["org_admin"]));
}

#[tokio::test]
async fn organization_hint_preselects_an_eligible_org() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (verifier, challenge) = pkce();
    let flow = b
        .start(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("organization", "globex")],
        ))
        .await;
    let r = b.sign_in(&flow, "bob@acme.test", PASSWORD).await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(
        jwt_claims(t["id_token"].as_str().unwrap())["org_id"],
        "globex"
    );
}

#[tokio::test]
async fn refresh_rotates_recomputes_claims_and_reuse_revokes_the_family() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t1 = lobby.exchange(&code, &verifier).await;
    let r1 = t1["refresh_token"].as_str().unwrap().to_owned();

    // Roles change: the refresh carries the new ones (claims recomputed).
    let mut m = lobby
        .storage()
        .get_membership(&org_id("acme"), &user_id("alice"))
        .await
        .unwrap()
        .unwrap();
    m.roles.insert(app_id("crm"), [rv("sales")].into());
    lobby.storage().update_membership(&m).await.unwrap();

    let (s, t2) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!(s, 200, "{t2}");
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "refresh tokens rotate");
    let id2 = jwt_claims(t2["id_token"].as_str().unwrap());
    assert_eq!(id2["roles"], serde_json::json!(["sales"]));
    assert!(
        id2.get("nonce").is_none(),
        "no nonce on refresh (OIDC Core §12.2)"
    );
    let id1 = jwt_claims(t1["id_token"].as_str().unwrap());
    assert_eq!(id2["auth_time"], id1["auth_time"]);
    assert_eq!(id2["sid"], id1["sid"]);

    // Reuse of r1 within the grace window: refused, family intact.
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // r2 still works.
    let (s, t3) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r2)])
        .await;
    assert_eq!(s, 200, "{t3}");
    let r3 = t3["refresh_token"].as_str().unwrap().to_owned();

    // Reuse of r1 after the grace window: the whole family is revoked, r3 dies too.
    lobby.clock.advance(time::Duration::seconds(11));
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r3)])
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

#[tokio::test]
async fn refresh_after_member_removal_is_invalid_grant_and_revokes() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let rt = t["refresh_token"].as_str().unwrap();
    lobby
        .storage()
        .delete_membership(&org_id("acme"), &user_id("alice"))
        .await
        .unwrap();
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (_, fam) = lobby
        .storage()
        .find_refresh(&lobby::domain::TokenHash::of(rt))
        .await
        .unwrap()
        .unwrap();
    assert!(fam.revoked_at.is_some(), "the family is revoked");
    // And userinfo with the still-unexpired access token no longer answers for her.
    let (status, _) = lobby.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn refresh_after_org_suspension_or_unlink_is_invalid_grant() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "bob@acme.test", Some("globex")).await;
    let t = lobby.exchange(&code, &verifier).await;
    let mut org = lobby
        .storage()
        .get_org(&org_id("globex"))
        .await
        .unwrap()
        .unwrap();
    org.status = lobby::domain::OrgStatus::Suspended;
    lobby.storage().update_org(&org).await.unwrap();
    let (s, e) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));

    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    lobby
        .storage()
        .delete_link(&org_id("acme"), &app_id("crm"))
        .await
        .unwrap();
    let (s, e) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn code_is_single_use_and_reuse_revokes_the_first_tokens() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CRM_CB),
        ("code_verifier", verifier.as_str()),
    ];
    let (s, e) = lobby.token(&form).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // What the first redemption issued is revoked: refresh family and access token.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = lobby.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    // A third try still fails.
    let (s, _) = lobby.token(&form).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn wrong_verifier_burns_the_code() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let (wrong, _) = pkce();
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &wrong),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // The right verifier no longer helps: the code is gone.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // A missing verifier is a malformed request.
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", CRM_CB),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn code_for_another_client_or_redirect_uri_is_refused() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    // `portal` (public) presents crm's code.
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "portal"),
                ("code", &code),
                ("redirect_uri", CRM_CB),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // And the code is burned for crm as well.
    let (s, _) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(s, 400);

    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/crm/cb/"),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn expired_code_is_refused() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    lobby.clock.advance(time::Duration::seconds(61));
    let (s, e) = lobby
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CRM_CB),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn client_authentication_methods() {
    let lobby = Lobby::start().await;
    // client_secret_post works.
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let (s, v) = lobby
        .token_as(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CRM_CB),
                ("code_verifier", &verifier),
                ("client_id", "crm"),
                ("client_secret", CRM_SECRET),
            ],
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    // Wrong secret, no secret for a confidential client, unknown client: 401 invalid_client.
    for basic in [Some(("crm", "wrong")), Some(("nope", "x"))] {
        let (s, e) = lobby.token_as(&form, basic).await;
        assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    }
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", "crm"),
            ],
            None,
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    // Two methods at once: invalid_request.
    let (s, e) = lobby
        .token_as(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_secret", CRM_SECRET),
            ],
            Some(("crm", CRM_SECRET)),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
    // A public client must not send a secret.
    let (s, e) = lobby.token_as(&form, Some(("portal", "anything"))).await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn password_and_other_grants_are_unsupported() {
    let lobby = Lobby::start().await;
    for grant in ["password", "client_credentials", "implicit", "urn:x"] {
        let (s, e) = lobby
            .token(&[
                ("grant_type", grant),
                ("username", "alice@acme.test"),
                ("password", PASSWORD),
            ])
            .await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("unsupported_grant_type")),
            "{grant}"
        );
    }
    // JSON bodies are refused.
    let res = lobby
        .http()
        .post(lobby.url("/token"))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn public_client_with_pkce_and_prompt_none_into_a_second_app() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // Sign in at crm first.
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let crm = lobby.exchange(&code, &verifier).await;
    let crm_sid = jwt_claims(crm["id_token"].as_str().unwrap())["sid"].clone();
    // The portal (public client) gets a code silently with prompt=none.
    let (verifier, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "portal",
            PORTAL_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    let code = code_from(&r, &lobby.base, PORTAL_CB);
    let (s, t) = lobby
        .token_as(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "portal"),
                ("code", &code),
                ("redirect_uri", PORTAL_CB),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (header, id) = lobby.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(id["aud"], "portal");
    assert_eq!(id["sub"], "alice");
    assert_eq!(id["sid"], crm_sid, "one SSO session");
    assert_eq!(id["roles"], serde_json::json!(["viewer"]));

    // prompt=none without a session: login_required back to the client.
    let other = lobby.browser();
    let (_, challenge) = pkce();
    let r = other
        .get(&authorize_path(
            "portal",
            PORTAL_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.status, 303);
    let p = r.redirect_params();
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["state"], "st-123");
    assert_eq!(p["iss"], lobby.base);
}

#[tokio::test]
async fn prompt_none_with_several_orgs_uses_the_last_org_or_needs_interaction() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    // bob signs in to crm and picks globex; the session remembers it for crm.
    let _ = crm_login(&lobby, &b, "bob@acme.test", Some("globex")).await;
    let (verifier, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(
        jwt_claims(t["id_token"].as_str().unwrap())["org_id"],
        "globex"
    );
    // portal: bob is eligible in acme and globex (membership, link and password connection
    // decide, not roles) and the session has no last org for portal → interaction_required.
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "portal",
            PORTAL_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.redirect_params()["error"], "interaction_required");
    // Without prompt=none the SSO session leads straight to the chooser (no password).
    let r = b
        .get(&authorize_path("portal", PORTAL_CB, &challenge, &[]))
        .await;
    assert_eq!(r.status, 303);
    assert!(
        r.location().starts_with("/login/org?flow="),
        "{}",
        r.location()
    );
    // prompt=login forces the password page again.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "login")],
        ))
        .await;
    assert!(r.location().starts_with("/login?flow="));
    // max_age=0 too.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("max_age", "0")],
        ))
        .await;
    assert!(r.location().starts_with("/login?flow="));
}

#[tokio::test]
async fn revoke_refresh_and_access_tokens() {
    let lobby = Lobby::start().await;
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let crm = Some(("crm", CRM_SECRET));
    // Another client cannot revoke crm's token (200, but nothing happens).
    let (s, _) = lobby
        .post_json("/revoke", &[("token", rt), ("client_id", "portal")], None)
        .await;
    assert_eq!(s, 200);
    let (s, i) = lobby.post_json("/introspect", &[("token", rt)], crm).await;
    assert_eq!((s, &i["active"]), (200, &Value::Bool(true)));
    // Unknown tokens: 200 (RFC 7009 §2.2).
    let (s, _) = lobby
        .post_json("/revoke", &[("token", "garbage")], crm)
        .await;
    assert_eq!(s, 200);
    // Missing client auth: 401.
    let (s, e) = lobby.post_json("/revoke", &[("token", rt)], None).await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    // Access token: deny-listed.
    let (s, _) = lobby
        .post_json(
            "/revoke",
            &[("token", at), ("token_type_hint", "access_token")],
            crm,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(lobby.userinfo(at).await.0, 401);
    let (_, i) = lobby.post_json("/introspect", &[("token", at)], crm).await;
    assert_eq!(i, serde_json::json!({"active": false}));
    // Refresh token: the family.
    let (s, _) = lobby.post_json("/revoke", &[("token", rt)], crm).await;
    assert_eq!(s, 200);
    let (s, e) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn introspect_answers_only_for_the_tokens_own_client() {
    let lobby = Lobby::start().await;
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let at = t["access_token"].as_str().unwrap();
    let (s, i) = lobby
        .post_json("/introspect", &[("token", at)], Some(("crm", CRM_SECRET)))
        .await;
    assert_eq!(s, 200);
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], "crm");
    assert_eq!(i["sub"], "alice");
    assert_eq!(i["org_id"], "acme");
    // Another (public) client: inactive.
    let (s, i) = lobby
        .post_json(
            "/introspect",
            &[("token", at), ("client_id", "portal")],
            None,
        )
        .await;
    assert_eq!((s, i), (200, serde_json::json!({"active": false})));
    // Expired: inactive.
    lobby.clock.advance(time::Duration::seconds(301));
    let (_, i) = lobby
        .post_json("/introspect", &[("token", at)], Some(("crm", CRM_SECRET)))
        .await;
    assert_eq!(i, serde_json::json!({"active": false}));
    assert_eq!(lobby.userinfo(at).await.0, 401);
}

#[tokio::test]
async fn userinfo_rejects_missing_and_forged_tokens() {
    let lobby = Lobby::start().await;
    let res = lobby
        .http()
        .get(lobby.url("/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (code, verifier) = crm_login(&lobby, &lobby.browser(), "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    // An ID token is not an access token (typ differs).
    assert_eq!(lobby.userinfo(t["id_token"].as_str().unwrap()).await.0, 401);
    // Tampered payload.
    let at = t["access_token"].as_str().unwrap();
    let mut parts: Vec<String> = at.split('.').map(str::to_owned).collect();
    let mut claims = jwt_claims(at);
    claims["org_id"] = "globex".into();
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&claims).unwrap(),
    );
    assert_eq!(lobby.userinfo(&parts.join(".")).await.0, 401);
}

#[tokio::test]
async fn logout_ends_the_session_revokes_and_redirects_exactly() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let id_token = t["id_token"].as_str().unwrap();
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", CRM_BYE)
        .append_pair("state", "bye-1")
        .finish();
    let r = b.get(&format!("/logout?{q}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{CRM_BYE}?state=bye-1"));
    // Refresh tokens of the session are revoked.
    let (s, _) = lobby
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(s, 400);
    // The SSO session is gone: prompt=none now needs a login.
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
}

#[tokio::test]
async fn logout_without_hint_asks_for_confirmation_with_csrf() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let _ = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let r = b.get("/logout").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("action=\"/logout\""));
    let csrf = r.hidden("csrf");
    // Without the token: refused, still signed in.
    let r = b.post("/logout", &[("csrf", "nope")]).await;
    assert_eq!(r.status, 403);
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(r.redirect_params().contains_key("code"));
    // With it: signed out.
    let r = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"logged-out\""));
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
}

#[tokio::test]
async fn logout_with_bad_hints_or_uris_never_redirects() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t = lobby.exchange(&code, &verifier).await;
    let good = t["id_token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    let enc = |v: &Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(v).unwrap(),
        )
    };
    // Tampered payload, same signature.
    let mut c = jwt_claims(&good);
    c["sub"] = "bob".into();
    let tampered = format!("{}.{}.{}", parts[0], enc(&c), parts[2]);
    // alg: none.
    let none = format!(
        "{}.{}.",
        enc(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    // Signed by a key that is not Lobby's (a fresh Ed25519 key, with Lobby's kid).
    let der = lobby::keys::generate_pkcs8(SigningAlg::EdDSA).unwrap();
    let foreign_key = jsonwebtoken::EncodingKey::from_ed_der(&der);
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    h.kid = jsonwebtoken::decode_header(&good).unwrap().kid;
    let foreign = jsonwebtoken::encode(&h, &jwt_claims(&good), &foreign_key).unwrap();
    // An access token is not an ID token.
    let access = t["access_token"].as_str().unwrap().to_owned();
    for hint in [tampered, none, foreign, access, "garbage".into()] {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", &hint)
            .append_pair("post_logout_redirect_uri", CRM_BYE)
            .finish();
        let r = b.get(&format!("/logout?{q}")).await;
        assert_eq!(r.status, 400, "{hint}");
        assert!(r.headers.get("location").is_none());
        assert!(r.body.contains("not been signed out"));
    }
    // A valid hint with an unregistered post_logout_redirect_uri: error page, no redirect.
    for uri in [
        "http://127.0.0.1:9/crm/bye/",
        "http://127.0.0.1:9/crm/bye?x=1",
        "https://evil.example.com/",
    ] {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", &good)
            .append_pair("post_logout_redirect_uri", uri)
            .finish();
        let r = b.get(&format!("/logout?{q}")).await;
        assert_eq!(r.status, 400, "{uri}");
        assert!(r.headers.get("location").is_none());
    }
    // Still signed in after all of that.
    let (_, challenge) = pkce();
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert!(r.redirect_params().contains_key("code"));
}

/// A PostgreSQL database of its own for one test, dropped at the end.
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    async fn create(base: &str) -> PgDb {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let name = format!(
            "lobby_it_{}",
            lobby::domain::random_token()
                .to_ascii_lowercase()
                .replace(['-', '_'], "")
                .chars()
                .take(20)
                .collect::<String>()
        );
        let mut admin = sqlx::AnyConnection::connect(base)
            .await
            .unwrap_or_else(|e| panic!("LOBBY_TEST_DATABASE_URL is set but unreachable: {e}"));
        sqlx::Executor::execute(
            &mut admin,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await
        .unwrap();
        let _ = admin.close().await;
        let mut url = url::Url::parse(base).unwrap();
        url.set_path(&format!("/{name}"));
        PgDb {
            admin_url: base.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    async fn drop_db(&self) {
        use sqlx::Connection;
        if let Ok(mut admin) = sqlx::AnyConnection::connect(&self.admin_url).await {
            let _ = sqlx::Executor::execute(
                &mut admin,
                sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )),
            )
            .await;
        }
    }
}

/// DESIGN §5: instances behind a load balancer share PostgreSQL and Redis; a login started on
/// one instance finishes on another, and tokens, refresh and SSO work across them.
#[tokio::test]
async fn a_login_started_on_one_instance_finishes_on_another() {
    let (Ok(db), Ok(redis)) = (
        std::env::var("LOBBY_TEST_DATABASE_URL"),
        std::env::var("LOBBY_TEST_REDIS_URL"),
    ) else {
        eprintln!(
            "note: LOBBY_TEST_DATABASE_URL and LOBBY_TEST_REDIS_URL are not both set; multi-instance test not run"
        );
        return;
    };
    let pg = PgDb::create(&db).await;
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
        let prefix = format!("lobby:it:{}:", lobby::domain::random_token());
        let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
        // Instance A first: it seeds and creates the signing keys; B shares A's issuer.
        let a = Lobby::boot(Backends {
            database_url: Some(pg.url.clone()),
            redis_url: Some(redis.clone()),
            redis_prefix: Some(prefix.clone()),
            secret_key: Some(secret.clone()),
            ..Backends::default()
        })
        .await;
        let b = Lobby::boot(Backends {
            database_url: Some(pg.url.clone()),
            redis_url: Some(redis.clone()),
            redis_prefix: Some(prefix.clone()),
            secret_key: Some(secret),
            public_url: Some(format!("{}/", a.base)),
            seed: false,
        })
        .await;
        assert_eq!(a.st.ephemeral.backend(), "redis");
        assert_eq!(a.st.storage.dialect(), "postgres");

        // /authorize on A, identifier and password on B.
        let browser = Browser::new(&a.base);
        let (verifier, challenge) = pkce();
        let flow = browser
            .start(&authorize_path("crm", CRM_CB, &challenge, &[]))
            .await;
        let on_b = |p: &str| format!("{}{p}", b.base);
        let page = browser.get(&on_b(&format!("/login?flow={flow}"))).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.hidden("csrf");
        let r = browser
            .post(
                &on_b("/login"),
                &[
                    ("flow", &flow),
                    ("csrf", &csrf),
                    ("email", "alice@acme.test"),
                ],
            )
            .await;
        assert_eq!(r.status, 303);
        let r = browser
            .post(
                &on_b("/login/password"),
                &[("flow", &flow), ("csrf", &csrf), ("password", PASSWORD)],
            )
            .await;
        let code = code_from(&r, &a.base, CRM_CB);
        // The code redeems on A, once; tokens verify with A's JWKS and B's.
        let t = a.exchange(&code, &verifier).await;
        let (s, _) = b
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CRM_CB),
                ("code_verifier", &verifier),
            ])
            .await;
        assert_eq!(s, 400, "a code redeems once across instances");
        // The replay on B revoked what A issued.
        let (s, _) = a
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ])
            .await;
        assert_eq!(s, 400);

        // A second login; refresh on B, userinfo on A; SSO (Redis sessions) on B.
        let browser = Browser::new(&a.base);
        let (code, verifier) = crm_login(&a, &browser, "alice@acme.test", None).await;
        let t = b.exchange(&code, &verifier).await;
        let (_, id) = b.verify_jwt(t["id_token"].as_str().unwrap()).await;
        assert_eq!(id["iss"], a.base.as_str());
        let (s, t2) = b
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ])
            .await;
        assert_eq!(s, 200, "{t2}");
        assert_eq!(
            a.userinfo(t2["access_token"].as_str().unwrap()).await.0,
            200
        );
        let (_, challenge) = pkce();
        let r = browser
            .get(&on_b(&authorize_path(
                "portal",
                PORTAL_CB,
                &challenge,
                &[("prompt", "none")],
            )))
            .await;
        assert!(r.redirect_params().contains_key("code"), "{:?}", r.headers);
    }))
    .await;
    pg.drop_db().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

#[tokio::test]
async fn browser_apps_can_call_the_back_channel_with_cors() {
    let lobby = Lobby::start().await;
    let res = lobby
        .http()
        .request(reqwest::Method::OPTIONS, lobby.url("/token"))
        .header("origin", "https://spa.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(
        res.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let res = lobby.http().get(lobby.url("/jwks")).send().await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    // Navigations get none.
    let res = lobby
        .http()
        .get(lobby.url("/authorize"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn authorize_accepts_a_form_post() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let (verifier, challenge) = pkce();
    let path = authorize_path("crm", CRM_CB, &challenge, &[]);
    let query = &path["/authorize?".len()..];
    let form: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post("/authorize", &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let flow = r.location()["/login?flow=".len()..].to_owned();
    let r = b.sign_in(&flow, "alice@acme.test", PASSWORD).await;
    let code = code_from(&r, &lobby.base, CRM_CB);
    let t = lobby.exchange(&code, &verifier).await;
    assert_eq!(jwt_claims(t["id_token"].as_str().unwrap())["sub"], "alice");
}

#[tokio::test]
async fn a_login_hint_for_another_user_bypasses_the_sso_session() {
    let lobby = Lobby::start().await;
    let b = lobby.browser();
    let _ = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let (_, challenge) = pkce();
    // The signed-in user's own address: silent SSO.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none"), ("login_hint", "Alice@ACME.test")],
        ))
        .await;
    assert!(r.redirect_params().contains_key("code"));
    // Someone else: login_required for prompt=none, the identifier page otherwise.
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("prompt", "none"), ("login_hint", "bob@acme.test")],
        ))
        .await;
    assert_eq!(r.redirect_params()["error"], "login_required");
    let r = b
        .get(&authorize_path(
            "crm",
            CRM_CB,
            &challenge,
            &[("login_hint", "bob@acme.test")],
        ))
        .await;
    assert!(r.location().starts_with("/login?flow="));
}
