//! The fake OpenID Provider the federation tests sign in through: signing keys, and an axum OP
//! (discovery, JWKS incl. hostile variants, token, userinfo) whose answers each test scripts.
//! Must not touch: Lobby (that side of the fixture is in `mod.rs`).

use super::*;

// ---------------------------------------------------------------------------------------
// Keys

pub(super) struct Key {
    pub(super) kid: String,
    alg: Algorithm,
    enc: EncodingKey,
    pub(super) jwk: Value,
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

    pub(super) fn sign(&self, claims: &Value) -> String {
        self.sign_as(claims, &self.kid)
    }

    pub(super) fn sign_as(&self, claims: &Value, kid: &str) -> String {
        let mut h = Header::new(self.alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, claims, &self.enc).unwrap()
    }
}

pub(super) fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

// ---------------------------------------------------------------------------------------
// The fake OP

#[derive(Default)]
pub(super) struct OpConfig {
    /// What the discovery document says its issuer is (default: the real one).
    pub(super) discovery_issuer: Option<String>,
    /// `jwks_uri` (default: `<base>/jwks`).
    pub(super) jwks_uri: Option<String>,
    /// RFC 9207 `authorization_response_iss_parameter_supported`.
    pub(super) iss_param_supported: bool,
    /// The keys published in the JWKS (by kid).
    pub(super) published: Vec<String>,
    /// Discovery accepts the request and never answers (an IdP that hangs).
    pub(super) hang: bool,
}

pub(super) struct PendingCode {
    challenge: String,
    response: Value,
    status: StatusCode,
}

/// One call of the token endpoint: its Authorization header and form.
pub(super) type TokenCall = (Option<String>, BTreeMap<String, String>);

pub(super) struct OpState {
    pub(super) base: String,
    pub(super) cfg: Mutex<OpConfig>,
    pub(super) keys: HashMap<String, Key>,
    pub(super) codes: Mutex<HashMap<String, PendingCode>>,
    pub(super) userinfo: Mutex<Value>,
    pub(super) jwks_hits: AtomicUsize,
    pub(super) token_auth: Mutex<Vec<TokenCall>>,
}

pub(super) struct Op {
    pub(super) st: Arc<OpState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Op {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn discovery(State(s): State<Arc<OpState>>) -> Response {
    let hang = s.cfg.lock().unwrap().hang;
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
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
    pub(super) async fn start() -> Op {
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

    pub(super) fn issuer(&self) -> String {
        self.st.base.clone()
    }

    pub(super) fn key(&self, kid: &str) -> &Key {
        &self.st.keys[kid]
    }

    /// Standard valid claims for `sub`, `nonce`.
    pub(super) fn claims(&self, sub: &str, nonce: &str, email: &str) -> Value {
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
    pub(super) fn will_answer(&self, code: &str, challenge: &str, id_token: String) {
        self.will_answer_json(
            code,
            challenge,
            StatusCode::OK,
            json!({"access_token": "at-123", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}),
        );
    }

    pub(super) fn will_answer_json(
        &self,
        code: &str,
        challenge: &str,
        status: StatusCode,
        response: Value,
    ) {
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
