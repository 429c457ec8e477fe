//! The OIDC connector: Lobby as a relying party of an organization's own OpenID Provider
//! (OIDC federation, DESIGN §6.4). Metadata and ID tokens are the `openidconnect` crate's
//! types; JWKS keys are parsed once per fetch into aws-lc public keys ([`Jwks`]). Every byte
//! from the network comes through [`GuardedHttp`](crate::upstream::http::GuardedHttp) (SSRF
//! guard, size and time caps, per-connection concurrency), keyed by the connection id.
//!
//! - **Discovery** (OIDC Discovery §4): `<issuer>/.well-known/openid-configuration`; the
//!   document's `issuer` must equal the configured issuer *exactly* (§4.3), the authorization,
//!   token and JWKS endpoints must be present, and when the issuer is https every endpoint must
//!   be https too.
//! - **Caching with stale-while-revalidate**: discovery is fresh for 1 hour and JWKS for 10
//!   minutes; after that the cached copy is still served for up to 24 hours while one
//!   background refresh runs, so a slow IdP does not slow sign-ins. A cache entry belongs to a
//!   (connection, configured issuer) pair: changing the issuer starts over.
//! - **Unknown `kid`**: the JWKS is fetched again at once (key rollover), at most once per 30 s
//!   per connection; if the key is still unknown the token is refused.
//! - **ID token** (OIDC Core §3.1.3.7): Lobby first reads the header and claims itself, to name
//!   precisely what is wrong (`alg` in the connection's allow-list — never `none`, never HMAC —,
//!   no `crit`, `iss` exactly the issuer, `aud` contains the client id, several audiences need
//!   `azp` = client id and any `azp` must be the client id, `sub` present, `exp` in the future,
//!   `iat` present and at most 60 s in the future, `nonce` equal to the one sent); then the
//!   signature is checked with aws-lc (keys parsed once per fetch) against the one JWKS key that
//!   fits the header, and the crate's `IdTokenVerifier` checks the same claims again. A token
//!   passes only if all agree.
//! - **Userinfo** (OIDC Core §5.3.2): fetched only when the ID token lacks the mapped email or
//!   name (or groups, when a groups claim is configured); its `sub` must equal the ID token's.
//!   Userinfo only fills claims the ID token does not have.
//! - **Client secret**: stored sealed (`keys::seal`, written by the admin service); opened
//! - **Connection test**: discovery and JWKS fetched fresh, every finding in plain words
//!   ([`Check`], shown by the admin API).
//!
//! Layout: `discovery` (the document and its rules), `jwks` (an IdP's key set), `id_token`
//! (every check on an ID token), `cache` (metadata/JWKS cache), `connector` (authorization URL,
//! code exchange, userinfo), `check` (the connection test), `error` ([`OidcError`]).
//!
//! Owns: talking OIDC to upstream IdPs and judging their answers. Must not touch: flows,
//! sessions, storage, pages (that is `login::oidc`), who the user is (`login::identity`).

mod cache;
mod check;
mod connector;
mod discovery;
mod error;
mod id_token;
mod jwks;
#[cfg(test)]
mod testkit;

pub use cache::CachePolicy;
pub use check::Check;
pub use connector::{AuthRequest, OidcConnector, Validated, pkce_challenge, random_value};
pub use discovery::{Discovered, discovery_url, parse_discovery};
pub use error::OidcError;
pub use id_token::MAX_IAT_SKEW_SECS;
#[doc(hidden)]
pub use id_token::check_id_token;
pub use jwks::{Jwks, parse_jwks};
