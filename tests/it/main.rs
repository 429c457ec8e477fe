//! The one integration-test binary: boots the whole app on 127.0.0.1:0 with a temp-dir
//! SQLite file and in-memory short-lived state, and drives it over HTTP.
//!
//! Owns: end-to-end tests. Must not touch: the tested code's internals beyond its public API.

mod admin;
mod architecture;
mod cli;
mod declarative;
mod dns_server;
mod email_table;
mod fail_closed;
mod faults;
mod harness;
mod i18n;
mod invitations;
mod login;
mod metrics;
mod mfa;
mod oidc_federation;
mod passkeys;
mod passwords;
mod portal;
mod portal_pages;
mod provider;
mod rate_limits;
mod saml;
mod trusted_proxies;
mod webhooks;
