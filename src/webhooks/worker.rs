//! The outbox worker: when the store signals a committed write that queued rows
//! (`OutboxStore::queued_signal`), and otherwise every `poll` (retries, rows of an instance that
//! died), it leases due rows (so several Lobby instances on one database never send the same
//! row at once), hands each to the [`Deliverer`] of its kind, and
//! records the attempt (delivered, retried after `domain::backoff`, or given up); once an hour
//! it prunes finished rows older than [`RETENTION`]. Time comes from the injected clock, so
//! tests drive the schedule.
//!
//! Owns: the loop, leasing and recording. Must not touch: what a delivery is (the deliverers).

use crate::domain::{AttemptResult, Clock, OutboxItem, OutboxKind};
use crate::storage::Storage;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Sends one kind of outbox row.
#[async_trait]
pub trait Deliverer: Send + Sync {
    fn kind(&self) -> OutboxKind;
    /// One attempt. Never panics; every failure is an `AttemptResult::Failed`.
    async fn deliver(&self, item: &OutboxItem) -> AttemptResult;
}

/// How long a leased row stays ours: well above the outbound request timeout, so a live
/// worker always finishes first; a dead one's rows are due again after it.
pub const LEASE: time::Duration = time::Duration::seconds(60);
/// Rows leased (and sent concurrently) per round.
pub const BATCH: u32 = 20;
/// Delivered and given-up rows are kept this long (the deliveries list shows them), then pruned.
pub const RETENTION: time::Duration = time::Duration::days(7);
/// How often the worker prunes.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub struct Worker {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    deliverers: Vec<Arc<dyn Deliverer>>,
    /// This worker's lease name (unique per process start).
    owner: String,
}

impl Worker {
    pub fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        deliverers: Vec<Arc<dyn Deliverer>>,
    ) -> Self {
        Self {
            storage,
            clock,
            deliverers,
            owner: format!("wrk_{}", ulid::Ulid::new().to_string().to_lowercase()),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// One round: lease what is due, send it, record it. Returns how many rows were tried.
    pub async fn run_once(&self) -> crate::storage::Result<usize> {
        let now = self.clock.now();
        let due = self
            .storage
            .claim_due(&self.owner, now, LEASE, BATCH)
            .await?;
        let n = due.len();
        let sends = due.into_iter().map(|item| async move {
            let result = match self.deliverers.iter().find(|d| d.kind() == item.kind) {
                Some(d) => d.deliver(&item).await,
                None => AttemptResult::Failed {
                    status: None,
                    error: "no deliverer for this kind of row".into(),
                    permanent: false,
                },
            };
            let at = self.clock.now();
            match self
                .storage
                .finish_attempt(&item.id, &self.owner, &result, at)
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::warn!(id = %item.id, "outbox: lease lost before the attempt was recorded"),
                Err(e) => tracing::warn!(id = %item.id, error = %e, "outbox: cannot record an attempt"),
            }
        });
        futures::future::join_all(sends).await;
        Ok(n)
    }

    /// Run rounds on the store's queued signal and every `poll` (right away again when a round
    /// was full) until the handle is dropped. An idle instance thus costs one query per `poll`,
    /// while a new delivery leaves at once.
    pub fn spawn(self, poll: Duration) -> WorkerHandle {
        let queued = self.storage.queued_signal();
        let task = tokio::spawn(async move {
            let mut last_prune: Option<tokio::time::Instant> = None;
            loop {
                if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                    last_prune = Some(tokio::time::Instant::now());
                    let before = self.clock.now() - RETENTION;
                    if let Err(e) = self.storage.prune_outbox(before).await {
                        tracing::warn!(error = %e, "outbox: cannot prune old deliveries");
                    }
                }
                let full = match self.run_once().await {
                    Ok(n) => n >= BATCH as usize,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox: cannot read due deliveries");
                        false
                    }
                };
                if !full {
                    match &queued {
                        // A signal raised while the round ran is kept (one permit), so a row
                        // committed meanwhile is not left to the poll.
                        Some(q) => {
                            tokio::select! {
                                _ = q.notified() => {}
                                _ = tokio::time::sleep(poll) => {}
                            }
                        }
                        None => tokio::time::sleep(poll).await,
                    }
                }
            }
        });
        WorkerHandle(task)
    }
}

/// Stops the worker when dropped (a row it was sending is leased until the lease runs out,
/// then another instance sends it again: at least once).
#[derive(Debug)]
pub struct WorkerHandle(tokio::task::JoinHandle<()>);

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}
