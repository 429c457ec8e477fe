//! Caching by age, written once: a value with the moment it was loaded ([`Timed`], for plain
//! time-to-live caches) and a stale-while-revalidate cell ([`Swr`]) built on it.
//!
//! Owns: the freshness arithmetic and the one-refresh-at-a-time flag. Must not touch: the clock
//! (callers pass `now`, so tests move time by hand), loading, spawning or locking (the caller
//! fetches — inline or in the background — and stores the result under its own lock), and how
//! many entries a map of cells may hold.

use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// A point in time a cache can measure ages from: the monotonic [`Instant`], or the
/// [`OffsetDateTime`] of a `Clock` (which tests move by hand).
pub trait Moment: Copy {
    /// How long after `earlier` this is; zero when `earlier` is later (a clock set back).
    fn since(self, earlier: Self) -> Duration;
}

impl Moment for Instant {
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Moment for OffsetDateTime {
    fn since(self, earlier: Self) -> Duration {
        Duration::try_from(self - earlier).unwrap_or(Duration::ZERO)
    }
}

/// A cached value and when it was loaded.
#[derive(Clone, Debug)]
pub struct Timed<T, M = Instant> {
    value: T,
    at: M,
}

impl<T, M: Moment> Timed<T, M> {
    pub fn new(value: T, at: M) -> Self {
        Self { value, at }
    }

    pub fn value(&self) -> &T {
        &self.value
    }

    /// How old the value is at `now`.
    pub fn age(&self, now: M) -> Duration {
        now.since(self.at)
    }

    /// The value while it is younger than `ttl` (never, when `ttl` is zero).
    pub fn fresh(&self, now: M, ttl: Duration) -> Option<&T> {
        (self.age(now) < ttl).then_some(&self.value)
    }
}

/// What a read of an [`Swr`] cell found.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<T> {
    /// Younger than the fresh time: use it.
    Fresh(T),
    /// Older, but still within the stale limit: use it. `refresh` is true for exactly one
    /// reader, which must load the value again (typically in the background) and then call
    /// [`Swr::end_refresh`] (and [`Swr::put`] when the load worked).
    Stale { value: T, refresh: bool },
    /// Nothing cached, or too old to serve: load it now and [`Swr::put`] it.
    Miss,
}

impl<T> Read<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Read<U> {
        match self {
            Self::Fresh(v) => Read::Fresh(f(v)),
            Self::Stale { value, refresh } => Read::Stale {
                value: f(value),
                refresh,
            },
            Self::Miss => Read::Miss,
        }
    }
}

/// A stale-while-revalidate cell: a value is served fresh for a while, then served stale up to
/// a limit while one refresh runs, so a slow source does not slow the readers.
#[derive(Debug)]
pub struct Swr<T, M = Instant> {
    cached: Option<Timed<T, M>>,
    refreshing: bool,
}

impl<T, M> Default for Swr<T, M> {
    fn default() -> Self {
        Self {
            cached: None,
            refreshing: false,
        }
    }
}

impl<T, M: Moment> Swr<T, M> {
    /// The cached value at `now`: fresh while younger than `fresh`, stale while younger than
    /// `max_stale` (the first stale read since the last refresh ended is told to refresh), a
    /// miss otherwise.
    pub fn read(&mut self, now: M, fresh: Duration, max_stale: Duration) -> Read<&T> {
        let Some(c) = &self.cached else {
            return Read::Miss;
        };
        let age = c.age(now);
        if age < fresh {
            Read::Fresh(&c.value)
        } else if age < max_stale {
            let refresh = !self.refreshing;
            self.refreshing = true;
            Read::Stale {
                value: &c.value,
                refresh,
            }
        } else {
            Read::Miss
        }
    }

    /// Stores a value loaded at `now`. Does not end a refresh that is running.
    pub fn put(&mut self, value: T, now: M) {
        self.cached = Some(Timed::new(value, now));
    }

    /// The refresh a [`Read::Stale`] asked for has finished (whether or not it worked): the
    /// next stale read may start another.
    pub fn end_refresh(&mut self) {
        self.refreshing = false;
    }

    /// Drops the value (it no longer applies). A refresh that is running still ends through
    /// [`Swr::end_refresh`].
    pub fn clear(&mut self) {
        self.cached = None;
    }

    /// The value, however old.
    pub fn value(&self) -> Option<&T> {
        self.cached.as_ref().map(Timed::value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: Duration = Duration::from_secs(10);
    const MAX_STALE: Duration = Duration::from_secs(100);

    /// Time is passed in, so the tests move it by hand: `t(s)` is `s` seconds after a start.
    fn clock() -> impl Fn(u64) -> Instant {
        let start = Instant::now();
        move |s| start + Duration::from_secs(s)
    }

    #[test]
    fn timed_is_fresh_strictly_before_its_ttl() {
        let t = clock();
        let v = Timed::new("v", t(0));
        assert_eq!(v.fresh(t(0), FRESH), Some(&"v"));
        assert_eq!(v.fresh(t(9), FRESH), Some(&"v"));
        assert_eq!(v.fresh(t(10), FRESH), None);
        assert_eq!(v.age(t(25)), Duration::from_secs(25));
        assert_eq!(
            v.fresh(t(0), Duration::ZERO),
            None,
            "a zero TTL caches nothing"
        );
    }

    #[test]
    fn a_clock_set_back_counts_as_age_zero() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let v = Timed::new(1, now);
        let earlier = now - time::Duration::minutes(5);
        assert_eq!(v.age(earlier), Duration::ZERO);
        assert_eq!(v.fresh(earlier, Duration::from_secs(60)), Some(&1));
        let later = now + time::Duration::seconds(61);
        assert_eq!(v.age(later), Duration::from_secs(61));
        assert_eq!(v.fresh(later, Duration::from_secs(60)), None);
    }

    #[test]
    fn swr_serves_fresh_then_stale_with_one_refresh_then_misses() {
        let t = clock();
        let mut c: Swr<&str> = Swr::default();
        assert_eq!(c.read(t(0), FRESH, MAX_STALE), Read::Miss);
        c.put("a", t(0));
        assert_eq!(c.read(t(9), FRESH, MAX_STALE), Read::Fresh(&"a"));
        // Stale: the first reader refreshes, the others are served without refreshing.
        assert_eq!(
            c.read(t(10), FRESH, MAX_STALE),
            Read::Stale {
                value: &"a",
                refresh: true
            }
        );
        assert_eq!(
            c.read(t(11), FRESH, MAX_STALE),
            Read::Stale {
                value: &"a",
                refresh: false
            }
        );
        // The refresh failed: the old value stays; the next stale read tries again.
        c.end_refresh();
        assert_eq!(
            c.read(t(50), FRESH, MAX_STALE),
            Read::Stale {
                value: &"a",
                refresh: true
            }
        );
        // It worked this time: fresh again from when it was stored.
        c.end_refresh();
        c.put("b", t(60));
        assert_eq!(c.read(t(69), FRESH, MAX_STALE), Read::Fresh(&"b"));
        // Past the stale limit: a miss, though the value is still held until replaced.
        assert_eq!(c.read(t(160), FRESH, MAX_STALE), Read::Miss);
        assert_eq!(c.value(), Some(&"b"));
        c.put("c", t(161));
        assert_eq!(c.read(t(161), FRESH, MAX_STALE), Read::Fresh(&"c"));
    }

    #[test]
    fn put_does_not_end_a_running_refresh_and_clear_drops_the_value() {
        let t = clock();
        let mut c: Swr<u32> = Swr::default();
        c.put(1, t(0));
        assert!(matches!(
            c.read(t(20), FRESH, MAX_STALE),
            Read::Stale { refresh: true, .. }
        ));
        // Another reader missed and stored a value meanwhile; the refresh is still running.
        c.put(2, t(21));
        assert!(matches!(
            c.read(t(40), FRESH, MAX_STALE),
            Read::Stale {
                value: 2,
                refresh: false
            }
        ));
        c.clear();
        assert_eq!(c.value(), None);
        assert_eq!(c.read(t(40), FRESH, MAX_STALE), Read::Miss);
        c.end_refresh();
        c.put(3, t(41));
        assert!(matches!(
            c.read(t(60), FRESH, MAX_STALE),
            Read::Stale {
                value: 3,
                refresh: true
            }
        ));
    }

    #[test]
    fn read_map_keeps_the_refresh_flag() {
        let r: Read<&u32> = Read::Stale {
            value: &7,
            refresh: true,
        };
        assert_eq!(
            r.map(|v| v + 1),
            Read::Stale {
                value: 8,
                refresh: true
            }
        );
        assert_eq!(Read::Fresh(&1).map(|v| v * 2), Read::Fresh(2));
        assert_eq!(Read::<&u32>::Miss.map(|v| v * 2), Read::Miss);
    }
}
