//! OIDC provider endpoints through HTTP: discovery, JWKS, the code flow end to end (single-org
//! and multi-org users), token endpoint rules (client auth, PKCE, code reuse, expiry, grants),
//! refresh rotation and reuse, userinfo, revoke, introspect, logout.
//!
//! `fixture` boots Lobby on 127.0.0.1:0 (temp-dir SQLite, memory state, a `ManualClock`),
//! seeds a small tenant through the storage API, and drives it with a cookie-keeping browser
//! that never follows redirects. `tests/it/login.rs`, `oidc_federation` and `saml` reuse it.
//! This file only declares the parts; each test file owns one feature area.

#![allow(dead_code)]

pub mod fixture;

mod admin_tokens;
mod authorize;
mod back_channel;
mod backchannel_logout;
mod logout;
mod multi_instance;
mod org_switch;
mod races;
mod refresh;
mod token;
