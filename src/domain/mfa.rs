//! The second factor of password sign-ins (issue 16 item 4): the policy on the app and the
//! org–app link, the factor methods and what they put in `amr` (RFC 8176), the `acr` value
//! Lobby supports, and the stored records (TOTP factor, recovery codes, remembered devices).
//!
//! Owns: the rules that need no I/O (which policy applies, which `amr` a method yields, whether
//! an authentication satisfies a demand, TOTP step matching, recovery-code shape). Must not
//! touch: storage, HTTP, sealing (the TOTP secret arrives here sealed and leaves sealed).

use super::{Secret, TokenHash, UserId};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// `acr` of an authentication with a second factor (OpenID PAPE 1.0 §4: "multi-factor").
/// `acr_values` containing it demands a second factor verified in this sign-in session (a
/// remembered device does not count); the ID token then carries it as `acr`.
pub const ACR_MULTI_FACTOR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// Whether a second factor is asked of password sign-ins (the app's default, overridden per
/// org–app link).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaPolicy {
    /// Every password sign-in passes a second factor; members without one enrol first.
    Required,
    /// Members with a second factor are challenged; the others are offered enrolment and may
    /// skip it.
    Optional,
    /// No second factor is asked.
    #[default]
    Off,
}

impl MfaPolicy {
    pub const ALL: [MfaPolicy; 3] = [Self::Required, Self::Optional, Self::Off];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
            Self::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The policy of a sign-in into an org through an app: the link's own, else the app's.
    pub fn effective(app: MfaPolicy, link: Option<MfaPolicy>) -> MfaPolicy {
        link.unwrap_or(app)
    }
}

/// How a second factor was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MfaMethod {
    /// A TOTP code (RFC 6238).
    Totp,
    /// A single-use recovery code (counts as a one-time password: `otp`).
    RecoveryCode,
    /// A WebAuthn passkey; `hardware` when its authenticator is a security key (`hwk`), else a
    /// platform or synced one (`swk`).
    Passkey { hardware: bool },
}

impl MfaMethod {
    /// The RFC 8176 method value this factor adds to `amr`.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Totp | Self::RecoveryCode => "otp",
            Self::Passkey { hardware: true } => "hwk",
            Self::Passkey { hardware: false } => "swk",
        }
    }

    /// The label in audit details and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey { .. } => "passkey",
        }
    }
}

/// `amr` values of a second factor verified in the sign-in itself (not a remembered device).
pub const VERIFIED_FACTOR_AMR: [&str; 3] = ["otp", "hwk", "swk"];
/// RFC 8176 "mfa": more than one factor.
pub const AMR_MFA: &str = "mfa";

/// `amr` after a second factor: the first factor's values, then the factor's, then `mfa`
/// (each once). A remembered device (`method` `None`) adds only `mfa`.
pub fn amr_with_factor(amr: &[String], method: Option<MfaMethod>) -> Vec<String> {
    let mut out: Vec<String> = amr.iter().filter(|v| *v != AMR_MFA).cloned().collect();
    if let Some(m) = method
        && !out.iter().any(|v| v == m.amr())
    {
        out.push(m.amr().to_owned());
    }
    out.push(AMR_MFA.to_owned());
    out
}

/// Whether `amr` shows a second factor verified in that authentication (not only a remembered
/// device): what `acr_values` multi-factor asks for, and when the ID token says [`ACR_MULTI_FACTOR`].
pub fn has_verified_factor(amr: &[String]) -> bool {
    amr.iter()
        .any(|v| VERIFIED_FACTOR_AMR.contains(&v.as_str()))
}

/// What a sign-in's second factor must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Demand {
    /// `acr_values` asked for [`ACR_MULTI_FACTOR`]: a remembered device does not count.
    pub verified: bool,
    /// `max_age`: the factor must be at most this many seconds old.
    pub max_age: Option<i64>,
}

impl Demand {
    /// Whether an authentication with this `amr` and second-factor time (unix seconds)
    /// satisfies the demand at `now`.
    pub fn satisfied_by(&self, amr: &[String], mfa_time: Option<i64>, now: i64) -> bool {
        let Some(t) = mfa_time else { return false };
        if !amr.iter().any(|v| v == AMR_MFA) {
            return false;
        }
        if self.verified && !has_verified_factor(amr) {
            return false;
        }
        // OIDC Core §3.1.2.1: max_age=0 asks for a fresh authentication.
        self.max_age.is_none_or(|m| m > 0 && now - t <= m)
    }
}

/// Whether `acr_values` (space-separated, OIDC Core §3.1.2.1) asks for a second factor.
pub fn acr_demands_mfa(acr_values: Option<&str>) -> bool {
    acr_values.is_some_and(|v| v.split(' ').any(|a| a == ACR_MULTI_FACTOR))
}

/// TOTP parameters every authenticator app accepts (RFC 6238 defaults): HMAC-SHA-1, 6 digits,
/// 30-second steps, 160-bit secrets.
pub const TOTP_DIGITS: usize = 6;
pub const TOTP_STEP_SECS: i64 = 30;
pub const TOTP_SECRET_BYTES: usize = 20;
/// Steps accepted either side of the current one (RFC 6238 §5.2: one step of delay).
pub const TOTP_SKEW: i64 = 1;

/// The time step of a unix time (RFC 6238 §4.2).
pub fn totp_step(unix: i64) -> i64 {
    unix.div_euclid(TOTP_STEP_SECS)
}

/// The step among `now`'s window (±[`TOTP_SKEW`]) whose code is `presented`, after
/// `last_used` (a code of a step already used is refused: replay). `code_at(step)` computes
/// the code of a step; the comparison is constant-time. Newest matching step wins.
pub fn match_totp_step(
    presented: &str,
    now: i64,
    last_used: Option<i64>,
    code_at: impl Fn(i64) -> String,
) -> TotpMatch {
    let p: String = presented.chars().filter(|c| !c.is_whitespace()).collect();
    if p.len() != TOTP_DIGITS || !p.bytes().all(|b| b.is_ascii_digit()) {
        return TotpMatch::Malformed;
    }
    let cur = totp_step(now);
    let mut found = None;
    for s in (cur - TOTP_SKEW)..=(cur + TOTP_SKEW) {
        let ok: bool = code_at(s).as_bytes().ct_eq(p.as_bytes()).into();
        if ok {
            found = Some(s);
        }
    }
    match found {
        None => TotpMatch::Wrong,
        Some(s) if last_used.is_some_and(|l| s <= l) => TotpMatch::Replayed,
        Some(s) => TotpMatch::Step(s),
    }
}

/// The result of [`match_totp_step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotpMatch {
    /// Not six digits.
    Malformed,
    Wrong,
    /// The code of a step at or before the last one used.
    Replayed,
    /// Valid for this step (not used yet).
    Step(i64),
}

/// A member's TOTP factor. The secret is sealed (`keys::seal`) and never leaves the login
/// unsealed except to compute codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: UserId,
    /// The sealed raw secret bytes (base32 of them is what the authenticator app holds).
    pub secret: Secret,
    /// The last time step whose code was accepted (replay defence, RFC 6238 §5.2).
    pub last_step: Option<i64>,
    pub created_at: OffsetDateTime,
}

/// How many recovery codes an enrolment issues.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (Crockford-like base32 without look-alikes), grouped 5-5.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new recovery code: 10 characters (~49 bits) from the OS RNG, shown as `xxxxx-xxxxx`.
pub fn new_recovery_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut s = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            s.push('-');
        }
        let c = RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())];
        s.push(c as char);
    }
    s
}

/// The canonical form of a typed recovery code (case, spaces and dashes ignored), `None` when
/// it cannot be one.
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let s: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == 10 && s.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(s)
}

/// The stored hash of a recovery code: SHA-256 over the user id and the normalized code, so
/// equal codes of two users hash differently.
pub fn recovery_code_hash(user: &UserId, normalized: &str) -> TokenHash {
    TokenHash::of(&format!("{user}:{normalized}"))
}

/// A browser that passed a second factor with "remember this device": the cookie's random
/// token is stored only as its hash, bound to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RememberedDevice {
    pub token_hash: TokenHash,
    pub user_id: UserId,
    /// When the second factor was passed (the factor's time while the device is remembered).
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What resetting a member's second factors removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MfaRemoved {
    pub totp: bool,
    pub recovery_codes: u64,
    pub remembered_devices: u64,
    pub passkeys: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_inheritance() {
        use MfaPolicy::*;
        assert_eq!(MfaPolicy::effective(Off, None), Off);
        assert_eq!(MfaPolicy::effective(Required, None), Required);
        assert_eq!(MfaPolicy::effective(Required, Some(Off)), Off);
        assert_eq!(MfaPolicy::effective(Off, Some(Optional)), Optional);
        assert_eq!(MfaPolicy::default(), Off);
        for p in MfaPolicy::ALL {
            assert_eq!(MfaPolicy::parse(p.as_str()), Some(p));
            let j = serde_json::to_string(&p).unwrap();
            assert_eq!(j, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(MfaPolicy::parse("REQUIRED"), None);
    }

    #[test]
    fn amr_values() {
        let pwd = vec!["pwd".to_owned()];
        assert_eq!(
            amr_with_factor(&pwd, Some(MfaMethod::Totp)),
            ["pwd", "otp", "mfa"]
        );
        assert_eq!(
            amr_with_factor(&pwd, Some(MfaMethod::RecoveryCode)),
            ["pwd", "otp", "mfa"]
        );
        assert_eq!(
            amr_with_factor(&pwd, Some(MfaMethod::Passkey { hardware: true })),
            ["pwd", "hwk", "mfa"]
        );
        assert_eq!(amr_with_factor(&pwd, None), ["pwd", "mfa"]);
        // Twice: still once each.
        let twice = amr_with_factor(&amr_with_factor(&pwd, Some(MfaMethod::Totp)), None);
        assert_eq!(twice, ["pwd", "otp", "mfa"]);
        assert!(has_verified_factor(&twice));
        assert!(!has_verified_factor(&amr_with_factor(&pwd, None)));
    }

    #[test]
    fn demands() {
        let otp = amr_with_factor(&["pwd".into()], Some(MfaMethod::Totp));
        let remembered = amr_with_factor(&["pwd".into()], None);
        let any = Demand {
            verified: false,
            max_age: None,
        };
        assert!(any.satisfied_by(&otp, Some(100), 1000));
        assert!(any.satisfied_by(&remembered, Some(100), 1000));
        assert!(!any.satisfied_by(&["pwd".into()], Some(100), 1000));
        assert!(!any.satisfied_by(&otp, None, 1000));
        let acr = Demand {
            verified: true,
            max_age: None,
        };
        assert!(acr.satisfied_by(&otp, Some(100), 1000));
        assert!(!acr.satisfied_by(&remembered, Some(100), 1000));
        let recent = Demand {
            verified: false,
            max_age: Some(60),
        };
        assert!(recent.satisfied_by(&otp, Some(950), 1000));
        assert!(!recent.satisfied_by(&otp, Some(900), 1000));
        let zero = Demand {
            verified: false,
            max_age: Some(0),
        };
        assert!(!zero.satisfied_by(&otp, Some(1000), 1000));
        assert!(acr_demands_mfa(Some(&format!("urn:x {ACR_MULTI_FACTOR}"))));
        assert!(!acr_demands_mfa(Some("urn:x")));
        assert!(!acr_demands_mfa(None));
    }

    /// The TOTP window with an injected time: ±1 step, replay refused, malformed input.
    #[test]
    fn totp_window_and_replay() {
        let code_at = |s: i64| format!("{:06}", (s * 7919) % 1_000_000);
        let now = 1_800_000_000;
        let cur = totp_step(now);
        assert_eq!(
            match_totp_step(&code_at(cur), now, None, code_at),
            TotpMatch::Step(cur)
        );
        assert_eq!(
            match_totp_step(&code_at(cur - 1), now, None, code_at),
            TotpMatch::Step(cur - 1)
        );
        assert_eq!(
            match_totp_step(&code_at(cur + 1), now, None, code_at),
            TotpMatch::Step(cur + 1)
        );
        assert_eq!(
            match_totp_step(&code_at(cur - 2), now, None, code_at),
            TotpMatch::Wrong
        );
        assert_eq!(
            match_totp_step(&code_at(cur + 2), now, None, code_at),
            TotpMatch::Wrong
        );
        // The same step again, or an older one after a newer was used: replay.
        assert_eq!(
            match_totp_step(&code_at(cur), now, Some(cur), code_at),
            TotpMatch::Replayed
        );
        assert_eq!(
            match_totp_step(&code_at(cur - 1), now, Some(cur), code_at),
            TotpMatch::Replayed
        );
        assert_eq!(
            match_totp_step(&code_at(cur + 1), now, Some(cur), code_at),
            TotpMatch::Step(cur + 1)
        );
        let spaced = format!("{} {}", &code_at(cur)[..3], &code_at(cur)[3..]);
        assert_eq!(
            match_totp_step(&spaced, now, None, code_at),
            TotpMatch::Step(cur)
        );
        for bad in ["", "12345", "1234567", "12a456"] {
            assert_eq!(
                match_totp_step(bad, now, None, code_at),
                TotpMatch::Malformed
            );
        }
    }

    #[test]
    fn recovery_codes() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 11);
        let n = normalize_recovery_code(&c).unwrap();
        assert_eq!(normalize_recovery_code(&c.to_uppercase()), Some(n.clone()));
        assert_eq!(normalize_recovery_code("abc"), None);
        assert_eq!(normalize_recovery_code("0000000000"), None, "0 is not used");
        let u1 = UserId::parse("usr_a").unwrap();
        let u2 = UserId::parse("usr_b").unwrap();
        assert_ne!(recovery_code_hash(&u1, &n), recovery_code_hash(&u2, &n));
        assert!(recovery_code_hash(&u1, &n).verify(&format!("usr_a:{n}")));
    }
}
