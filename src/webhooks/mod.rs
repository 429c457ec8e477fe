//! Delivering what the outbox holds: the background worker that leases due rows and hands each
//! to the deliverer of its kind ([`worker`]), the webhook deliverer ([`deliver`]: load the
//! endpoint, open its secret, sign, POST through the SSRF-guarded client) and the signature
//! format ([`signature`]: `Lobby-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`).
//!
//! Owns: sending. Must not touch: what becomes an event and when it is queued (that is
//! `domain::webhook::event_from_audit`, called by the storage layer in the same transaction as
//! the audit event), HTTP routes (the admin API registers endpoints).
//!
//! Back-channel logout ([`backchannel`]) is the second kind: OIDC Back-Channel Logout 1.0
//! tokens to apps, signed at each attempt with Lobby's key.
//!
//! Reuse: another kind of delivery (e.g. back-channel logout tokens) adds an
//! `OutboxKind`, queues rows with `OutboxStore::enqueue` and implements [`worker::Deliverer`];
//! the lease, retries, backoff and listing come with the outbox.

pub mod backchannel;
pub mod deliver;
pub mod signature;
pub mod worker;

pub use backchannel::BackchannelDeliverer;
pub use deliver::WebhookDeliverer;
pub use worker::{Deliverer, Worker, WorkerHandle};
