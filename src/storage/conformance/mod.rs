//! The one conformance suite every storage backend must pass: each `pub async fn` of the
//! aggregate files is a case that takes a fresh, empty `Arc<dyn Storage>` and panics on a
//! violation. `tests.rs` runs every case against a SQLite temp file, SQLite in memory, and
//! PostgreSQL when `LOBBY_TEST_DATABASE_URL` is set (each case in a database it creates and
//! drops; set but unreachable fails the case instead of skipping it).
//!
//! Owns: the behaviour the storage traits promise. Must not touch: backend internals (only
//! the traits are used, so the suite runs unchanged against any new backend).
//!
//! Test code only (compiled for the library's unit tests): it unwraps and asserts freely.

mod apps;
mod audit;
mod backchannel;
mod connections;
mod consistency;
mod domains;
mod first_sign_in;
mod fixtures;
mod keys;
mod links;
mod member_search;
mod members;
mod mfa;
mod orgs;
mod pagination;
mod passkeys;
mod passwords;
mod refresh;
mod shared_domains;
mod tests;
mod users;
mod webhooks;

pub(crate) use fixtures::org;

use apps::*;
use audit::*;
use backchannel::*;
use connections::*;
use consistency::*;
use domains::*;
use first_sign_in::*;
use keys::*;
use links::*;
use member_search::*;
use members::*;
use mfa::*;
use orgs::*;
use pagination::*;
use passkeys::*;
use passwords::*;
use refresh::*;
use shared_domains::*;
use users::*;
use webhooks::*;
