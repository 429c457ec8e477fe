//! Pure domain rules: identifiers, email domains, orgs, apps, roles, memberships, connections,
//! users, invitations, audit events, webhook events and the delivery outbox, and the validation rules that tie them together.
//!
//! Owns: every type that is stored or put in a token, and every rule that needs no I/O.
//! Must not touch: storage, HTTP, the clock of the machine (take a `Clock`), randomness other
//! than through the id generators.

pub mod admin_token;
pub mod app;
pub mod audit;
pub mod backchannel;
pub mod cache;
pub mod clock;
pub mod connection;
pub mod email;
pub mod error;
pub mod grant;
pub mod ids;
pub mod invitation;
pub mod membership;
pub mod mfa;
pub mod org;
pub mod passkey;
pub mod password_policy;
pub mod password_reset;
pub mod rules;
pub mod secret;
pub mod user;
pub mod webhook;

pub use app::*;
pub use audit::*;
pub use backchannel::*;
pub use clock::*;
pub use connection::*;
pub use email::*;
pub use error::*;
pub use grant::*;
pub use ids::*;
pub use invitation::*;
pub use membership::*;
pub use mfa::{MfaMethod, MfaPolicy, RememberedDevice, TotpFactor};
pub use org::*;
pub use passkey::*;
pub use password_reset::*;
pub use secret::*;
pub use user::*;
pub use webhook::*;
