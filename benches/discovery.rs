//! Discovery lookups on a large SQLite database: the queries on the sign-in path
//! (`find_verified_domain_org`, `list_memberships_for_user`, `get_app_by_client_id`).
//!
//! Seeds a SQLite file with `LOBBY_BENCH_ORGS` orgs (default 100 000, each with one verified
//! domain), `LOBBY_BENCH_USERS` users (default 200 000), `LOBBY_BENCH_MEMBERSHIPS`
//! memberships (default 1 000 000) and `LOBBY_BENCH_APPS` apps (default 1 000), in one
//! transaction of bulk `INSERT … SELECT` over a recursive counter, through `SqlStore::pool()`.
//! The file is cached under `<target>/lobby-bench/` (named by the sizes and the schema), so
//! re-runs skip seeding. Then criterion measures each lookup (median printed at the end) and a
//! plain latency run of `LOBBY_BENCH_LOOKUPS` (default 20 000) random lookups per query prints
//! p50/p99/max. Target: p99 < 1 ms.
//!
//! Run: `cargo bench --bench discovery` (see BENCHMARKS.md).
//!
//! Owns: nothing but this measurement. Must not touch: the storage code it measures.

use criterion::Criterion;
use lobby::domain::{ClientId, EmailDomain, UserId, to_millis};
use lobby::storage::sql::SqlStore;
use lobby::storage::{AppStore, DomainStore, MembershipStore, Storage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCHEMA: &str = include_str!("../migrations/sqlite/0001_init.sql");

#[derive(Clone, Copy, Debug)]
struct Sizes {
    orgs: u64,
    users: u64,
    memberships: u64,
    apps: u64,
}

impl Sizes {
    fn from_env() -> anyhow::Result<Sizes> {
        let get = |name: &str, default: u64| -> anyhow::Result<u64> {
            match std::env::var(name) {
                Ok(v) => v
                    .replace('_', "")
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{name} must be a positive integer")),
                Err(_) => Ok(default),
            }
        };
        let orgs = get("LOBBY_BENCH_ORGS", 100_000)?;
        let memberships = get("LOBBY_BENCH_MEMBERSHIPS", 1_000_000)?;
        let users = get("LOBBY_BENCH_USERS", (memberships / 5).max(1))?;
        let apps = get("LOBBY_BENCH_APPS", 1_000)?;
        anyhow::ensure!(
            orgs >= 1 && users >= 1 && apps >= 1,
            "sizes must be at least 1"
        );
        anyhow::ensure!(
            Self::per_user_of(memberships, users) <= orgs,
            "more memberships per user than orgs"
        );
        Ok(Sizes {
            orgs,
            users,
            memberships,
            apps,
        })
    }

    fn per_user_of(memberships: u64, users: u64) -> u64 {
        memberships.div_ceil(users).max(1)
    }

    fn per_user(&self) -> u64 {
        Self::per_user_of(self.memberships, self.users)
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The cached database for these sizes and this schema.
fn db_path(s: &Sizes) -> PathBuf {
    let schema = hex::encode(Sha256::digest(SCHEMA.as_bytes()));
    target_dir().join("lobby-bench").join(format!(
        "discovery-o{}-u{}-m{}-a{}-{}.db",
        s.orgs,
        s.users,
        s.memberships,
        s.apps,
        &schema[..12]
    ))
}

fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Seed a fresh database into `<path>.partial`, then move it into place.
async fn seed(path: &Path, s: &Sizes) -> anyhow::Result<Duration> {
    let partial = path.with_extension("partial");
    remove_db_files(&partial);
    let store = SqlStore::connect(&format!("sqlite:{}", partial.display())).await?;
    let pool = store.pool();
    let now = to_millis(time::OffsetDateTime::now_utc());
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    // `seq` counts 0..$1; every table is filled by one INSERT … SELECT over it.
    const SEQ: &str =
        "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $1) ";
    let steps: [(&str, i64, String); 5] = [
        (
            "apps",
            s.apps as i64,
            format!(
                "{SEQ}INSERT INTO apps (id, name, client_id, client_type, client_secret_hash, \
                 redirect_uris, post_logout_redirect_uris, signing_alg, token_lifetimes, \
                 invite_ttl_secs, revoke_on, auth_policy, version, created_at, updated_at) \
                 SELECT printf('app_bench_%07d', n), 'App ' || n, printf('client-bench-%d', n), \
                 'confidential', '{hash}', '[\"https://app.example.com/cb\"]', '[]', 'RS256', \
                 '{{\"access_token_secs\":300,\"id_token_secs\":300,\"refresh_token_secs\":2592000}}', \
                 86400, '[\"member_removed\"]', '{{\"allowed_kinds\":[\"oidc\",\"saml\",\"password\"]}}', \
                 1, $2, $2 FROM seq",
                hash = "0".repeat(64)
            ),
        ),
        (
            "orgs",
            s.orgs as i64,
            format!(
                "{SEQ}INSERT INTO orgs (id, slug, name, status, parent_id, branding, version, \
                 created_at, updated_at) SELECT printf('org_bench_%07d', n), \
                 printf('bench-%d', n), 'Org ' || n, 'active', NULL, '{{}}', 1, $2, $2 FROM seq"
            ),
        ),
        (
            "org_domains",
            s.orgs as i64,
            format!(
                "{SEQ}INSERT INTO org_domains (org_id, domain, verified, verification_token, \
                 verified_at, created_at) SELECT printf('org_bench_%07d', n), \
                 printf('d%d.example', n), 1, 'token', $2, $2 FROM seq"
            ),
        ),
        (
            "users",
            s.users as i64,
            format!(
                "{SEQ}INSERT INTO users (id, email, email_verified, name, password_hash, version, \
                 created_at, updated_at) SELECT printf('usr_bench_%07d', n), \
                 printf('u%d@d%d.example', n, n % {orgs}), 1, 'User ' || n, NULL, 1, $2, $2 \
                 FROM seq",
                orgs = s.orgs
            ),
        ),
        (
            // Membership n: user n / per_user, in orgs spread `step` apart (distinct per user).
            "memberships",
            s.memberships as i64,
            format!(
                "{SEQ}INSERT INTO memberships (org_id, user_id, status, roles, org_roles, \
                 version, created_at, updated_at) \
                 SELECT printf('org_bench_%07d', ((n / {per}) + (n % {per}) * {step}) % {orgs}), \
                 printf('usr_bench_%07d', n / {per}), 'active', \
                 '{{\"app_bench_0000000\":[\"member\"]}}', '[]', 1, $2, $2 FROM seq",
                per = s.per_user(),
                step = (s.orgs / s.per_user()).max(1),
                orgs = s.orgs
            ),
        ),
    ];
    for (table, count, sql) in steps {
        let t = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(count)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        eprintln!("  seeded {count:>9} {table} in {:.1?}", t.elapsed());
    }
    tx.commit().await?;
    let seeded = started.elapsed();
    let t = Instant::now();
    sqlx::query("ANALYZE").execute(pool).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await?;
    eprintln!("  ANALYZE + checkpoint in {:.1?}", t.elapsed());
    pool.close().await;
    drop(store);
    remove_db_files(path);
    std::fs::rename(&partial, path)?;
    remove_db_files(&partial);
    std::fs::write(
        path.with_extension("seed-secs"),
        format!("{:.3}", seeded.as_secs_f64()),
    )?;
    Ok(seeded)
}

struct Keys {
    domains: Vec<EmailDomain>,
    users: Vec<UserId>,
    clients: Vec<ClientId>,
}

fn random_keys(s: &Sizes, n: usize, seed: u64) -> anyhow::Result<Keys> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut k = Keys {
        domains: Vec::with_capacity(n),
        users: Vec::with_capacity(n),
        clients: Vec::with_capacity(n),
    };
    for _ in 0..n {
        k.domains.push(EmailDomain::parse(&format!(
            "d{}.example",
            rng.random_range(0..s.orgs)
        ))?);
        k.users.push(UserId::parse(&format!(
            "usr_bench_{:07}",
            rng.random_range(0..s.users)
        ))?);
        k.clients.push(ClientId::parse(&format!(
            "client-bench-{}",
            rng.random_range(0..s.apps)
        ))?);
    }
    Ok(k)
}

struct Latency {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn latency(mut v: Vec<Duration>) -> Latency {
    v.sort();
    let at = |q: usize| v[(v.len() * q / 100).min(v.len() - 1)];
    Latency {
        p50: at(50),
        p99: at(99),
        max: v[v.len() - 1],
    }
}

/// The median criterion saved for one benchmark in this run (not an older one), in
/// nanoseconds.
fn criterion_median(id: &str, since: std::time::SystemTime) -> Option<f64> {
    let p = target_dir()
        .join("criterion")
        .join("discovery")
        .join(id)
        .join("new")
        .join("estimates.json");
    if std::fs::metadata(&p).ok()?.modified().ok()? < since {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// The 1/5/15-minute load averages (Linux), to judge how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() -> anyhow::Result<()> {
    let started = std::time::SystemTime::now();
    let load_at_start = load_average();
    let sizes = Sizes::from_env()?;
    let lookups: usize = std::env::var("LOBBY_BENCH_LOOKUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
        .max(100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let path = db_path(&sizes);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let seeding = if path.exists() {
        let earlier = std::fs::read_to_string(path.with_extension("seed-secs")).unwrap_or_default();
        eprintln!(
            "using the cached database {} (seeded in {earlier} s when it was made)",
            path.display()
        );
        format!("cached (seeded in {earlier} s)")
    } else {
        eprintln!("seeding {} with {sizes:?}", path.display());
        let d = rt.block_on(seed(&path, &sizes))?;
        format!("{:.1} s", d.as_secs_f64())
    };
    let store = Arc::new(rt.block_on(SqlStore::connect(&format!("sqlite:{}", path.display())))?);
    rt.block_on(store.ping())?;
    let keys = Arc::new(random_keys(&sizes, lookups, 7)?);
    // Sanity: the seeded rows are found, so we measure hits.
    rt.block_on(async {
        let org = store.find_verified_domain_org(&keys.domains[0]).await?;
        anyhow::ensure!(org.is_some(), "seeded domain not found");
        let ms = store.list_memberships_for_user(&keys.users[0]).await?;
        anyhow::ensure!(!ms.is_empty(), "seeded memberships not found");
        let app = store.get_app_by_client_id(&keys.clients[0]).await?;
        anyhow::ensure!(app.is_some(), "seeded app not found");
        Ok(())
    })?;

    let mut c = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    {
        let mut g = c.benchmark_group("discovery");
        let (s, k) = (store.clone(), keys.clone());
        let mut i = 0usize;
        g.bench_function("find_verified_domain_org", |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % k.domains.len();
                let (s, d) = (s.clone(), k.domains[i].clone());
                async move { s.find_verified_domain_org(&d).await.map(|o| o.is_some()) }
            })
        });
        let (s, k) = (store.clone(), keys.clone());
        let mut i = 0usize;
        g.bench_function("find_verified_domain_org_miss", |b| {
            b.to_async(&rt).iter(|| {
                i += 1;
                let s = s.clone();
                let d = EmailDomain::parse(&format!("nope{i}.example")).ok();
                async move {
                    match d {
                        Some(d) => s.find_verified_domain_org(&d).await.map(|o| o.is_some()),
                        None => Ok(false),
                    }
                }
            })
        });
        let (s, k2) = (store.clone(), k.clone());
        let mut i = 0usize;
        g.bench_function("list_memberships_for_user", |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % k2.users.len();
                let (s, u) = (s.clone(), k2.users[i].clone());
                async move { s.list_memberships_for_user(&u).await.map(|m| m.len()) }
            })
        });
        let (s, k3) = (store.clone(), k.clone());
        let mut i = 0usize;
        g.bench_function("get_app_by_client_id", |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % k3.clients.len();
                let (s, c) = (s.clone(), k3.clients[i].clone());
                async move { s.get_app_by_client_id(&c).await.map(|a| a.is_some()) }
            })
        });
        g.finish();
    }
    c.final_summary();

    // The latency run: every lookup timed on its own, over random keys. The four queries take
    // turns, so each sees the same machine; the control (`SELECT 1` through the same pool and
    // driver) shows how much of a tail is the machine rather than the query.
    let (s, k) = (store.clone(), keys.clone());
    let runs = rt.block_on(async move {
        let mut times: [Vec<Duration>; 4] = Default::default();
        for i in 0..lookups {
            let t = Instant::now();
            anyhow::ensure!(s.find_verified_domain_org(&k.domains[i]).await?.is_some());
            times[0].push(t.elapsed());
            let t = Instant::now();
            anyhow::ensure!(!s.list_memberships_for_user(&k.users[i]).await?.is_empty());
            times[1].push(t.elapsed());
            let t = Instant::now();
            anyhow::ensure!(s.get_app_by_client_id(&k.clients[i]).await?.is_some());
            times[2].push(t.elapsed());
            let t = Instant::now();
            s.ping().await?;
            times[3].push(t.elapsed());
        }
        let [domain, members, apps, ping] = times.map(latency);
        anyhow::Ok([
            ("find_verified_domain_org", domain),
            ("list_memberships_for_user", members),
            ("get_app_by_client_id", apps),
            ("ping (SELECT 1, control)", ping),
        ])
    })?;

    println!();
    println!(
        "Discovery lookups (storage): SQLite, {} orgs / {} verified domains, {} users, {} memberships ({} per user), {} apps",
        sizes.orgs,
        sizes.orgs,
        sizes.users,
        sizes.memberships,
        sizes.per_user(),
        sizes.apps
    );
    println!("seeding: {seeding}");
    println!(
        "load average: {load_at_start} at start, {} at end ({} CPUs)",
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<28} {:>16} {:>10} {:>10} {:>10}",
        "lookup", "criterion median", "p50", "p99", "max"
    );
    let mut worst_p99 = Duration::ZERO;
    for (name, l) in &runs {
        let median = criterion_median(name, started)
            .map(|ns| format!("{:.1} µs", ns / 1000.0))
            .unwrap_or_else(|| "-".into());
        println!(
            "{name:<28} {median:>16} {:>10} {:>10} {:>10}",
            us(l.p50),
            us(l.p99),
            us(l.max)
        );
        if !name.starts_with("ping") {
            worst_p99 = worst_p99.max(l.p99);
        }
    }
    if let Some(ns) = criterion_median("find_verified_domain_org_miss", started) {
        println!(
            "{:<28} {:>16}",
            "find_verified_domain (miss)",
            format!("{:.1} µs", ns / 1000.0)
        );
    }
    println!(
        "latency run: {lookups} sequential lookups per query; target p99 < 1 ms: {}",
        if worst_p99 < Duration::from_millis(1) {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
