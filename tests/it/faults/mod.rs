//! Faults of the backends and of the process, on private servers started by the tests
//! (`services`): PostgreSQL restarted mid-refresh and down (`postgres`), SIGTERM while a
//! request is in flight on a real `lobby serve` process (`shutdown`). Redis lost under a
//! federated sign-in and an IdP that hangs are in `oidc_federation::{redis_faults,
//! hanging_idp}` (they drive its fake OP).
//!
//! Must not touch: the shared PostgreSQL and Redis the other suites use.

mod postgres;
pub mod services;
mod shutdown;
