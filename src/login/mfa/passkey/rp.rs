//! The WebAuthn relying party (built once from the public URL) and the ceremony state: the
//! library's registration or authentication state, parked in the short-lived state store
//! under the flow's id, bound to the flow's user, taken once, expiring with the flow.
//!
//! Owns: which RP ID and origin passkeys are bound to, and the ceremony state's life.
//! Must not touch: HTTP, the flow's stages, storage of registered passkeys.

use crate::domain::{PasskeyCredentialId, PasskeyRecord, UserId};
use crate::login::flow::FlowId;
use crate::state::{StateError, StateStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use webauthn_rs::prelude::{Passkey, Url, Uuid, Webauthn, WebauthnBuilder};

/// How long a ceremony may take at most (also capped by the flow's own expiry): WebAuthn's
/// recommended timeout for user verification (Level 3 §5.4.6, 300 s).
pub const CEREMONY_TTL: Duration = Duration::from_secs(300);

/// The relying party of Lobby's passkeys: `None` when the public URL cannot carry one.
pub struct PasskeyRp {
    webauthn: Option<Webauthn>,
}

impl std::fmt::Debug for PasskeyRp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyRp")
            .field("available", &self.webauthn.is_some())
            .finish()
    }
}

impl PasskeyRp {
    /// The relying party for this public URL: RP ID = its host, origin = its scheme, host and
    /// port (WebAuthn §5.1.3 step 8, §13.4.9). The RP ID must be a domain: a public URL on an
    /// IP address (`http://127.0.0.1:8080`, the default for local development) gets no
    /// passkeys — browsers refuse IP addresses as RP IDs — and the second-factor pages then
    /// offer only the other factors. `http://localhost:<port>` works (a secure context).
    pub fn new(public_url: &url::Url) -> Self {
        let webauthn = match build(public_url) {
            Ok(w) => Some(w),
            Err(why) => {
                tracing::info!(public_url = %public_url, why, "passkeys are not available");
                None
            }
        };
        Self { webauthn }
    }

    /// Whether passkeys can be used at all.
    pub fn available(&self) -> bool {
        self.webauthn.is_some()
    }

    pub(crate) fn webauthn(&self) -> Option<&Webauthn> {
        self.webauthn.as_ref()
    }
}

fn build(public_url: &url::Url) -> Result<Webauthn, &'static str> {
    let host = public_url
        .domain()
        .ok_or("the public URL's host is an IP address; WebAuthn RP IDs are domains")?;
    let origin = Url::parse(&public_url.origin().ascii_serialization())
        .map_err(|_| "the public URL has no origin")?;
    WebauthnBuilder::new(host, &origin)
        .and_then(|b| b.rp_name(host).build())
        .map_err(|_| "the WebAuthn library refused the RP ID and origin")
}

/// The user handle given to authenticators (WebAuthn §14.6.1: no personal data): the first
/// 128 bits of SHA-256 of the user id, the same on every registration of one user.
pub fn user_handle(user: &UserId) -> Uuid {
    let d = Sha256::digest(user.as_str().as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    Uuid::from_bytes(b)
}

/// Which ceremony a parked state belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ceremony {
    Register,
    Authenticate,
}

impl Ceremony {
    fn key(self, flow: &FlowId) -> String {
        match self {
            Ceremony::Register => format!("passkey:register:{flow}"),
            Ceremony::Authenticate => format!("passkey:authenticate:{flow}"),
        }
    }
}

/// What is parked: the flow's user and the library's state.
#[derive(Serialize, Deserialize)]
struct Parked<S> {
    user_id: UserId,
    state: S,
}

/// Park a ceremony's state for the flow `flow` of `user`, replacing any earlier one of the same
/// ceremony (a second "Use a passkey" click starts over). It lives [`CEREMONY_TTL`], and never
/// longer than the flow (`flow_left`).
pub async fn park<S: Serialize>(
    store: &dyn StateStore,
    ceremony: Ceremony,
    flow: &FlowId,
    user: &UserId,
    state: &S,
    flow_left: Duration,
) -> Result<(), StateError> {
    let ttl = flow_left.min(CEREMONY_TTL);
    let bytes = serde_json::to_vec(&Parked {
        user_id: user.clone(),
        state,
    })
    .map_err(|e| StateError::Unavailable(e.into()))?;
    store.put(&ceremony.key(flow), &bytes, ttl).await
}

/// Take the parked state of the flow's ceremony, once (atomic: of concurrent finishes exactly
/// one gets it). `None` when there is none (never started, expired, used already), it belongs
/// to another user, or it cannot be read.
pub async fn unpark<S: DeserializeOwned>(
    store: &dyn StateStore,
    ceremony: Ceremony,
    flow: &FlowId,
    user: &UserId,
) -> Result<Option<S>, StateError> {
    let Some(bytes) = store.take(&ceremony.key(flow)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Parked<S>>(&bytes)
        .ok()
        .filter(|p| &p.user_id == user)
        .map(|p| p.state))
}

/// A stored passkey as the library's type; `None` (logged) when the stored JSON is unreadable.
pub fn passkey_of(r: &PasskeyRecord) -> Option<Passkey> {
    match serde_json::from_str(&r.credential) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(error = %e, user = %r.user_id, "a stored passkey cannot be read; it is skipped");
            None
        }
    }
}

/// The credential id of a passkey as stored.
pub fn credential_id(p: &Passkey) -> Option<PasskeyCredentialId> {
    PasskeyCredentialId::from_bytes(p.cred_id()).ok()
}

/// Whether a registered passkey is backup eligible (a synced passkey): the library keeps the
/// flag from the signed authenticator data of the registration but has no getter for it
/// without its `danger-credential-internals` feature, so it is read from its serialized form
/// (`cred.backup_eligible`, the stored format of every `Passkey`). Unknown counts as eligible
/// (`swk`: the weaker claim).
pub fn backup_eligible(p: &Passkey) -> bool {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.pointer("/cred/backup_eligible").and_then(|b| b.as_bool()))
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ManualClock, random_token};
    use crate::state::MemoryState;
    use std::sync::Arc;
    use webauthn_rs::prelude::{PasskeyAuthentication, PasskeyRegistration};

    fn rp() -> PasskeyRp {
        PasskeyRp::new(&url::Url::parse("http://localhost:8080/").unwrap())
    }

    #[test]
    fn rp_id_is_the_public_host_and_ip_hosts_get_none() {
        assert!(rp().available());
        let w = PasskeyRp::new(&url::Url::parse("https://login.example.com/lobby/").unwrap());
        let origins = w.webauthn().unwrap().get_allowed_origins();
        assert_eq!(origins.len(), 1);
        assert_eq!(origins[0].as_str(), "https://login.example.com/");
        for ip in ["http://127.0.0.1:8080/", "http://[::1]:8080/"] {
            assert!(
                !PasskeyRp::new(&url::Url::parse(ip).unwrap()).available(),
                "{ip}"
            );
        }
    }

    #[test]
    fn user_handles_are_stable_and_distinct() {
        let a = UserId::parse("usr_a").unwrap();
        let b = UserId::parse("usr_b").unwrap();
        assert_eq!(user_handle(&a), user_handle(&a));
        assert_ne!(user_handle(&a), user_handle(&b));
    }

    fn store() -> (Arc<MemoryState>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        (MemoryState::new(clock.clone()), clock)
    }

    fn registration(rp: &PasskeyRp, user: &UserId) -> PasskeyRegistration {
        let (ccr, state) = rp
            .webauthn()
            .unwrap()
            .start_passkey_registration(user_handle(user), "a@acme.example", "Alice", None)
            .unwrap();
        // The options carry the RP ID and a fresh challenge.
        let j = serde_json::to_value(&ccr).unwrap();
        assert_eq!(j["publicKey"]["rp"]["id"], "localhost");
        assert!(j["publicKey"]["challenge"].as_str().unwrap().len() >= 43);
        state
    }

    /// Parked state is taken once, only by its flow, its user and its ceremony.
    #[tokio::test]
    async fn ceremony_state_is_single_use_and_bound() {
        let (s, _clock) = store();
        let rp = rp();
        let alice = UserId::parse("usr_alice").unwrap();
        let mallory = UserId::parse("usr_mallory").unwrap();
        let flow = FlowId::parse(&random_token()).unwrap();
        let other_flow = FlowId::parse(&random_token()).unwrap();
        let state = registration(&rp, &alice);
        let left = Duration::from_secs(600);
        park(s.as_ref(), Ceremony::Register, &flow, &alice, &state, left)
            .await
            .unwrap();
        // Another flow or the other ceremony finds nothing.
        let none: Option<PasskeyRegistration> =
            unpark(s.as_ref(), Ceremony::Register, &other_flow, &alice)
                .await
                .unwrap();
        assert!(none.is_none());
        let none: Option<PasskeyAuthentication> =
            unpark(s.as_ref(), Ceremony::Authenticate, &flow, &alice)
                .await
                .unwrap();
        assert!(none.is_none());
        // The right one gets it once; a replay finds nothing.
        let got: Option<PasskeyRegistration> =
            unpark(s.as_ref(), Ceremony::Register, &flow, &alice)
                .await
                .unwrap();
        assert!(got.is_some());
        let again: Option<PasskeyRegistration> =
            unpark(s.as_ref(), Ceremony::Register, &flow, &alice)
                .await
                .unwrap();
        assert!(again.is_none(), "single use");
        // Another user's take burns it without getting it.
        park(s.as_ref(), Ceremony::Register, &flow, &alice, &state, left)
            .await
            .unwrap();
        let stolen: Option<PasskeyRegistration> =
            unpark(s.as_ref(), Ceremony::Register, &flow, &mallory)
                .await
                .unwrap();
        assert!(stolen.is_none());
        let after: Option<PasskeyRegistration> =
            unpark(s.as_ref(), Ceremony::Register, &flow, &alice)
                .await
                .unwrap();
        assert!(after.is_none(), "a wrong taker burns the ceremony");
    }

    /// The state expires with the flow when the flow has less left than a ceremony, else
    /// after [`CEREMONY_TTL`].
    #[tokio::test]
    async fn ceremony_state_expires_with_the_flow() {
        let (s, clock) = store();
        let rp = rp();
        let alice = UserId::parse("usr_alice").unwrap();
        let flow = FlowId::parse(&random_token()).unwrap();
        let state = registration(&rp, &alice);
        // Park for `ttl`, let `later` seconds pass, and say whether the state is still there.
        let after = |ttl: u64, later: i64| {
            let (s, flow, alice, state, clock) = (&s, &flow, &alice, &state, &clock);
            async move {
                park(
                    s.as_ref(),
                    Ceremony::Register,
                    flow,
                    alice,
                    state,
                    Duration::from_secs(ttl),
                )
                .await
                .unwrap();
                clock.advance(time::Duration::seconds(later));
                let got: Option<PasskeyRegistration> =
                    unpark(s.as_ref(), Ceremony::Register, flow, alice)
                        .await
                        .unwrap();
                got.is_some()
            }
        };
        assert!(!after(30, 31).await, "gone with the flow");
        assert!(after(600, 299).await, "alive within the ceremony's time");
        assert!(
            !after(600, 301).await,
            "a ceremony lasts at most CEREMONY_TTL"
        );
    }

    /// Garbage under the key is no state (and no panic).
    #[tokio::test]
    async fn unreadable_state_is_none() {
        let (s, _clock) = store();
        let alice = UserId::parse("usr_alice").unwrap();
        let flow = FlowId::parse(&random_token()).unwrap();
        s.put(
            &Ceremony::Authenticate.key(&flow),
            b"{not json",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        let got: Option<PasskeyAuthentication> =
            unpark(s.as_ref(), Ceremony::Authenticate, &flow, &alice)
                .await
                .unwrap();
        assert!(got.is_none());
    }
}
