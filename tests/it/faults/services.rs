//! Private Redis and PostgreSQL servers for the fault tests: each test starts its own
//! `redis-server` / throwaway PostgreSQL cluster (`initdb` + `postgres`) on a spare loopback
//! port in a temp dir, stops and restarts it at will, and the guard's `Drop` kills it and
//! deletes its files (also when the test fails). The shared services on 5432/6379 are never
//! touched.
//!
//! When the binaries are missing the tests are skipped with a note — except in CI (`CI` set)
//! or when `LOBBY_TEST_DATABASE_URL` / `LOBBY_TEST_REDIS_URL` are set, where they fail: a
//! machine that runs the service suites has the servers installed (Debian `redis-server`,
//! `postgresql`).
//!
//! Must not touch: anything outside its temp dir and its own child processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the fault tests must run here (CI, or a machine set up for the service suites).
fn required(var: &str) -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os(var).is_some()
}

/// `None` (with a note) where the binary is missing and the tests may be skipped; a panic
/// where they must run.
fn found(what: &str, path: Option<PathBuf>, var: &str) -> Option<PathBuf> {
    match path {
        Some(p) => Some(p),
        None if required(var) => panic!(
            "{what} is not installed, but the fault tests must run here (CI or {var} is set): install it (.ci/run's APT_PKGS)"
        ),
        None => {
            eprintln!("note: {what} not found; fault test skipped");
            None
        }
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// A port nobody listens on right now (bound, read, released).
pub fn spare_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    l.local_addr().unwrap().port()
}

fn stop_child(child: &mut Option<Child>, signal: &str) {
    if let Some(mut c) = child.take() {
        let _ = Command::new("kill")
            .args([signal, &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Redis

/// A `redis-server` of the test's own. Without persistence unless stopped with
/// [`PrivateRedis::shutdown_save`] (which writes `dump.rdb`, loaded by the next start).
pub struct PrivateRedis {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one, or `None` when `redis-server` is missing and the test may be skipped.
    pub async fn start() -> Option<PrivateRedis> {
        let bin = found(
            "redis-server",
            on_path("redis-server")
                .or_else(|| Some(PathBuf::from("/usr/bin/redis-server")).filter(|p| p.is_file())),
            "LOBBY_TEST_REDIS_URL",
        )?;
        let mut r = PrivateRedis {
            bin,
            dir: tempfile::tempdir().expect("temp dir"),
            port: spare_port(),
            child: None,
        };
        r.up().await;
        Some(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Start the server (again) on the same port and directory; returns once it answers.
    pub async fn up(&mut self) {
        assert!(self.child.is_none(), "redis is already running");
        let child = Command::new(&self.bin)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.ping().await {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(Ok(mut c)) = tokio::time::timeout(
            Duration::from_millis(500),
            client.get_multiplexed_async_connection(),
        )
        .await
        else {
            return false;
        };
        let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut c).await;
        pong.is_ok_and(|p| p == "PONG")
    }

    /// One command on a fresh connection (FLUSHALL, DBSIZE…).
    pub async fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let client = redis::Client::open(self.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query_async(&mut c).await.unwrap()
    }

    /// Stop it abruptly (SIGKILL): everything in memory is lost, clients see a dead socket.
    pub fn kill(&mut self) {
        stop_child(&mut self.child, "-KILL");
    }

    /// Stop it after writing its data to disk (`SHUTDOWN SAVE`): the next [`up`] has it back.
    ///
    /// [`up`]: PrivateRedis::up
    pub async fn shutdown_save(&mut self) {
        let client = redis::Client::open(self.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        // The server closes the connection instead of answering.
        let _: redis::RedisResult<()> =
            redis::cmd("SHUTDOWN").arg("SAVE").query_async(&mut c).await;
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                assert!(Instant::now() < deadline, "redis did not shut down");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        assert!(
            self.dir.path().join("dump.rdb").is_file(),
            "SHUTDOWN SAVE wrote no dump"
        );
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/// Where Debian (and most distributions) keep the server binaries: the newest
/// `/usr/lib/postgresql/<major>/bin` that has `initdb`, else `PATH`.
fn pg_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop()
        .map(|(_, d)| d)
        .or_else(|| on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf)))
}

/// PostgreSQL refuses to run as root: as root, the cluster is created and run as the
/// `postgres` system user (its uid/gid from /etc/passwd).
fn run_as() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").ok()?;
    use std::os::unix::fs::MetadataExt;
    if me.uid() != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&"postgres") && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}

/// A throwaway PostgreSQL cluster (trust authentication, fsync off) on a spare port.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    user: Option<(u32, u32)>,
    pub port: u16,
    child: Option<Child>,
}

impl PrivatePostgres {
    /// Creates and starts one, or `None` when PostgreSQL is missing and the test may be skipped.
    pub async fn start() -> Option<PrivatePostgres> {
        let bin = found(
            "PostgreSQL (initdb)",
            pg_bin_dir(),
            "LOBBY_TEST_DATABASE_URL",
        )?;
        let user = run_as();
        let dir = tempfile::Builder::new()
            .prefix("lobby-pg")
            .tempdir()
            .expect("temp dir");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster");
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_user(&mut initdb, user);
        let out = initdb.output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = PrivatePostgres {
            bin,
            dir,
            user,
            port: spare_port(),
            child: None,
        };
        pg.up().await;
        Some(pg)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Start the server (again) on the same port and data; returns once it accepts queries.
    pub async fn up(&mut self) {
        assert!(self.child.is_none(), "postgres is already running");
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=50"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_user(&mut cmd, self.user);
        self.child = Some(cmd.spawn().expect("start postgres"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.answers().await {
                return;
            }
            assert!(Instant::now() < deadline, "postgres did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn answers(&self) -> bool {
        use sqlx::Connection;
        let Ok(Ok(mut c)) = tokio::time::timeout(
            Duration::from_secs(1),
            sqlx::PgConnection::connect(&self.url()),
        )
        .await
        else {
            return false;
        };
        let ok = sqlx::query("SELECT 1").execute(&mut c).await.is_ok();
        let _ = c.close().await;
        ok
    }

    /// Fast shutdown (SIGINT): open transactions are rolled back, every client connection is
    /// closed, and the server is gone until [`up`](PrivatePostgres::up).
    pub fn stop(&mut self) {
        stop_child(&mut self.child, "-INT");
    }
}

fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(gid);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Immediate shutdown: nothing to keep.
        stop_child(&mut self.child, "-QUIT");
    }
}
