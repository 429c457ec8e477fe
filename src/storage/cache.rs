//! A per-process cache of read-mostly configuration rows: apps by client id and by id, orgs,
//! org–app links, connections (one by id, and an org's list), an app's role groups, which org
//! has verified an email domain, a SAML connection's pinned IdP state (metadata and
//! certificates), and whether any webhook endpoint is enabled. Every sign-in request and every token request
//! reads several of them (an OIDC login read the app 5×, the org 4×, the connection 4×), and
//! each read was a database round trip.
//!
//! Owns: the cached copies, their lifetime and their invalidation. Must not touch: queries
//! (the SQL store loads on a miss), anything about members, users, invitations or refresh
//! tokens — those are never cached, so membership changes, suspensions and revocations
//! take effect on the very next request on every instance.
//!
//! Freshness rules:
//! - A write through this process (admin API, import, metadata refresh) invalidates the whole
//!   cache when the write returns, so the next read on this instance sees it.
//! - A write by another process (another instance on the same database, `lobby import` beside a
//!   running server) is seen after at most [`DEFAULT_TTL`]: entries expire that long after they
//!   were loaded.
//! - A read that started before an invalidation never stores its (possibly older) row: entries
//!   carry the generation they were loaded under and a load is dropped when the generation
//!   moved meanwhile.
//! - Only rows that exist are cached (an unknown client id is not remembered, so random ids
//!   cannot fill memory), and each map is bounded by [`MAX_ENTRIES`].

use crate::domain::cache::Timed;
use crate::domain::{
    App, AppId, ClientId, Connection, ConnectionId, EmailDomain, Org, OrgAppLink, OrgDomain, OrgId,
    RoleGroup,
};
use crate::storage::SamlIdpRecord;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a cached row may be served without re-reading it: the bound on how late a write
/// made by another process is seen.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
/// Per map; a full map is emptied before the next insert.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub(crate) struct Maps {
    generation: u64,
    apps: HashMap<ClientId, Timed<App>>,
    /// The same rows by app id (a SAML sign-in names its app by id).
    apps_by_id: HashMap<AppId, Timed<App>>,
    orgs: HashMap<OrgId, Timed<Org>>,
    links: HashMap<(OrgId, AppId), Timed<OrgAppLink>>,
    /// By id alone; org-scoped reads check the org of the cached row.
    connections: HashMap<ConnectionId, Timed<Connection>>,
    role_groups: HashMap<AppId, Timed<Vec<RoleGroup>>>,
    org_connections: HashMap<OrgId, Timed<Vec<Connection>>>,
    /// Verified domains only (an unknown domain is not remembered).
    domain_orgs: HashMap<EmailDomain, Timed<OrgDomain>>,
    /// `saml_idp_state` rows (the JSON is parsed by `upstream::saml`).
    saml_idps: HashMap<ConnectionId, Timed<SamlIdpRecord>>,
    /// One entry (key `()`): whether any webhook endpoint is enabled, read by every audit write.
    webhooks_enabled: HashMap<(), Timed<bool>>,
}

impl Maps {
    fn clear(&mut self) {
        self.apps.clear();
        self.apps_by_id.clear();
        self.orgs.clear();
        self.links.clear();
        self.connections.clear();
        self.role_groups.clear();
        self.org_connections.clear();
        self.domain_orgs.clear();
        self.saml_idps.clear();
        self.webhooks_enabled.clear();
    }
}

/// Which map a lookup uses (a function pointer keeps the lookups generic without macros).
pub(crate) type Pick<K, V> = fn(&mut Maps) -> &mut HashMap<K, Timed<V>>;

pub(crate) const APPS: Pick<ClientId, App> = |m| &mut m.apps;
pub(crate) const APPS_BY_ID: Pick<AppId, App> = |m| &mut m.apps_by_id;
pub(crate) const ORGS: Pick<OrgId, Org> = |m| &mut m.orgs;
pub(crate) const LINKS: Pick<(OrgId, AppId), OrgAppLink> = |m| &mut m.links;
pub(crate) const CONNECTIONS: Pick<ConnectionId, Connection> = |m| &mut m.connections;
pub(crate) const ROLE_GROUPS: Pick<AppId, Vec<RoleGroup>> = |m| &mut m.role_groups;
pub(crate) const ORG_CONNECTIONS: Pick<OrgId, Vec<Connection>> = |m| &mut m.org_connections;
pub(crate) const DOMAIN_ORGS: Pick<EmailDomain, OrgDomain> = |m| &mut m.domain_orgs;
pub(crate) const SAML_IDPS: Pick<ConnectionId, SamlIdpRecord> = |m| &mut m.saml_idps;
pub(crate) const WEBHOOKS_ENABLED: Pick<(), bool> = |m| &mut m.webhooks_enabled;

/// A cache miss: load the row, then [`ConfigCache::store`] it with this ticket.
#[must_use]
pub(crate) struct Ticket(u64);

pub struct ConfigCache {
    ttl: Duration,
    maps: Mutex<Maps>,
}

impl std::fmt::Debug for ConfigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl ConfigCache {
    /// `ttl` zero disables caching (every read goes to the database).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            maps: Mutex::new(Maps::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters (worst case a missing entry), so a poisoned lock is simply reused.
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached row, or a ticket to store the row once loaded.
    pub(crate) fn get<K: Eq + Hash, V: Clone>(
        &self,
        pick: Pick<K, V>,
        key: &K,
    ) -> Result<V, Ticket> {
        let mut maps = self.lock();
        let generation = maps.generation;
        let map = pick(&mut maps);
        if let Some(v) = map.get(key).and_then(|e| e.fresh(Instant::now(), self.ttl)) {
            return Ok(v.clone());
        }
        map.remove(key);
        Err(Ticket(generation))
    }

    /// Remember a row loaded after [`ConfigCache::get`] missed, unless the cache was
    /// invalidated while it was being read (then the row may predate the write).
    pub(crate) fn store<K: Eq + Hash, V>(
        &self,
        pick: Pick<K, V>,
        ticket: Ticket,
        key: K,
        value: V,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let mut maps = self.lock();
        if maps.generation != ticket.0 {
            return;
        }
        let map = pick(&mut maps);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, Timed::new(value, Instant::now()));
    }

    /// Forget everything (a configuration write returned).
    pub fn invalidate(&self) {
        let mut maps = self.lock();
        maps.generation = maps.generation.wrapping_add(1);
        maps.clear();
    }

    /// Invalidates when dropped: a write method holds one for its whole body, so the cache is
    /// emptied once the write has committed (or failed, or was cancelled).
    pub(crate) fn on_write(&self) -> InvalidateOnDrop<'_> {
        InvalidateOnDrop(self)
    }
}

pub(crate) struct InvalidateOnDrop<'a>(&'a ConfigCache);

impl Drop for InvalidateOnDrop<'_> {
    fn drop(&mut self) {
        self.0.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str) -> Org {
        let mut o = crate::storage::conformance::org(None);
        o.name = name.into();
        o
    }

    #[test]
    fn hit_after_store_and_miss_after_invalidate() {
        let c = ConfigCache::new(Duration::from_secs(60));
        let id = OrgId::parse("acme").unwrap();
        let t = c.get(ORGS, &id).expect_err("empty cache misses");
        c.store(ORGS, t, id.clone(), org("Acme"));
        assert_eq!(c.get(ORGS, &id).ok().unwrap().name, "Acme");
        c.invalidate();
        assert!(c.get(ORGS, &id).is_err());
    }

    #[test]
    fn a_load_that_raced_a_write_is_not_stored() {
        let c = ConfigCache::new(Duration::from_secs(60));
        let id = OrgId::parse("acme").unwrap();
        let t = c.get(ORGS, &id).expect_err("a miss");
        // A write lands while the (old) row is being read.
        c.on_write();
        c.store(ORGS, t, id.clone(), org("Old name"));
        assert!(c.get(ORGS, &id).is_err(), "the stale row was not cached");
    }

    #[test]
    fn entries_expire_and_zero_ttl_caches_nothing() {
        // Long enough that the hit right after storing cannot have expired on a busy machine.
        let c = ConfigCache::new(Duration::from_millis(500));
        let id = OrgId::parse("acme").unwrap();
        let t = c.get(ORGS, &id).expect_err("a miss");
        c.store(ORGS, t, id.clone(), org("Acme"));
        assert!(c.get(ORGS, &id).is_ok());
        std::thread::sleep(Duration::from_millis(600));
        assert!(c.get(ORGS, &id).is_err(), "expired");

        let off = ConfigCache::new(Duration::ZERO);
        let t = off.get(ORGS, &id).expect_err("a miss");
        off.store(ORGS, t, id.clone(), org("Acme"));
        assert!(off.get(ORGS, &id).is_err());
    }

    #[test]
    fn a_full_map_is_emptied_not_grown() {
        let c = ConfigCache::new(Duration::from_secs(60));
        for i in 0..=MAX_ENTRIES {
            let id = OrgId::parse(&format!("o{i}")).unwrap();
            let t = c.get(ORGS, &id).expect_err("a miss");
            c.store(ORGS, t, id, org("Acme"));
        }
        assert_eq!(c.lock().orgs.len(), 1);
    }
}

#[cfg(test)]
mod store_tests {
    //! The cache inside the SQL store: two stores on one SQLite file stand for two processes.
    use super::*;
    use crate::storage::sql::SqlStore;
    use crate::storage::{OrgStore, Storage};

    #[tokio::test]
    async fn own_writes_are_seen_at_once_and_other_processes_writes_within_the_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("lobby.db").display());
        // A TTL no test run outlives: what this store serves is decided by writes alone.
        let a = SqlStore::connect(&url)
            .await
            .unwrap()
            .with_config_ttl(Duration::from_secs(3600));
        let b = SqlStore::connect(&url).await.unwrap();
        let o = crate::storage::conformance::org(None);
        a.create_org(&o).await.unwrap();
        assert_eq!(a.get_org(&o.id).await.unwrap().unwrap().name, "Acme");

        // Another process renames the org: this one serves its copy until the TTL…
        let mut renamed = b.get_org(&o.id).await.unwrap().unwrap();
        renamed.name = "Acme Renamed".into();
        let renamed = b.update_org(&renamed).await.unwrap();
        assert_eq!(
            a.get_org(&o.id).await.unwrap().unwrap().name,
            "Acme",
            "served from the cache within the TTL"
        );
        // …while the uncached view (the admin API's) reads the database.
        let fresh = a.uncached().get_org(&o.id).await.unwrap().unwrap();
        assert_eq!(fresh.name, "Acme Renamed");
        assert_eq!(fresh.version, renamed.version);

        // A write through this process is visible to its next read, however long the TTL.
        let mut again = renamed.clone();
        again.name = "Acme Again".into();
        a.uncached().update_org(&again).await.unwrap();
        assert_eq!(a.get_org(&o.id).await.unwrap().unwrap().name, "Acme Again");

        // With a short TTL, another process's write is seen once the TTL has passed.
        let ttl = Duration::from_millis(200);
        let c = SqlStore::connect(&url).await.unwrap().with_config_ttl(ttl);
        assert_eq!(c.get_org(&o.id).await.unwrap().unwrap().name, "Acme Again");
        let mut last = b.get_org(&o.id).await.unwrap().unwrap();
        last.name = "Acme Last".into();
        b.update_org(&last).await.unwrap();
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert_eq!(
            c.get_org(&o.id).await.unwrap().unwrap().name,
            "Acme Last",
            "re-read after the TTL"
        );
    }
}
