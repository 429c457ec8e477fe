//! Time as a dependency: production code reads a `Clock`, tests move a `ManualClock`.

use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to (unix milliseconds).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        Self(AtomicI64::new(to_millis(at)))
    }
    pub fn advance(&self, d: time::Duration) {
        self.0
            .fetch_add(d.whole_milliseconds() as i64, Ordering::SeqCst);
    }
    pub fn set(&self, at: OffsetDateTime) {
        self.0.store(to_millis(at), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// Unix milliseconds, the storage representation of every timestamp.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Truncate to whole milliseconds so values survive a storage round trip unchanged.
pub fn trunc_millis(t: OffsetDateTime) -> OffsetDateTime {
    from_millis(to_millis(t))
}
