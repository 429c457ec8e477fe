//! SQLite on the calling thread: one embedded-store connection, its prepared statements, and
//! the mapping of sqlx's `Any` arguments and rows to and from SQLite's C API, so `sql/` keeps
//! one set of queries for both backends.
//!
//! Why not sqlx-sqlite: it runs each connection on a worker thread of its own and hands every
//! statement there and every row back (a futex wake-up and two context switches per statement,
//! plus the waker of the task). A login runs three or four short indexed statements; measured,
//! the hand-offs cost about as much CPU as the statements themselves (docs/perf-issue17.md,
//! "Session 3"). Here a statement is prepared once, then bound and stepped on the thread that
//! polls the caller's task, inside one poll. The store's statements are indexed reads and
//! single-row writes of microseconds; SQLite's own waits (another process holding the write
//! lock) are bounded by `busy_timeout`, and writers of this process are serialised before they
//! reach SQLite (`db.rs`), so no task sleeps in SQLite's busy handler waiting for another task.
//!
//! The mapping follows sqlx's `Any` driver over SQLite exactly, so the same `sql/` code reads
//! the same values: a value is typed by what SQLite stored (INTEGER → `BigInt`, REAL →
//! `Double`, TEXT → `Text`, BLOB → `Blob`), parameters are `?`, `?NNN` or `$NNN`, unbound
//! parameters are NULL, a statement's `rows_affected` is `sqlite3_changes()` after it, and a
//! SQL string of several statements runs them in order.
//!
//! Owns: opening a connection, the statement cache, binding, stepping, rows, SQLite errors as
//! `sqlx::Error::Database`, and sqlx's migration bookkeeping (`_sqlx_migrations`, the same table
//! sqlx-sqlite writes, so databases created before keep working).
//! Must not touch: which connection a caller gets, the write lock and transactions (`db.rs`),
//! queries (`sql/`), URLs and pragmas (`sqlite.rs`).

use libsqlite3_sys as ffi;
use sqlx::Either;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValue};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx_core::any::{AnyColumn, AnyValueKind};
use sqlx_core::ext::ustr::UStr;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr::{self, NonNull};
use std::sync::Arc;

/// Prepared statements kept per connection; past this the cache is emptied and refilled (the
/// store has a few hundred distinct statements, so this is not reached in normal use).
const STATEMENT_CACHE: usize = 1024;

/// One SQLite connection, used by one caller at a time (`db::Lease` hands it out).
pub struct LiteConn {
    db: NonNull<ffi::sqlite3>,
    cache: HashMap<Box<str>, Prepared>,
}

// SAFETY: the connection is opened with SQLITE_OPEN_NOMUTEX ("multi-thread" mode): it may move
// between threads as long as two threads never use it at once, which `&mut self` on every
// method that touches it guarantees.
unsafe impl Send for LiteConn {}

impl std::fmt::Debug for LiteConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiteConn")
            .field("cached_statements", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// How a database file is opened (`sqlite.rs` reads it from the URL's `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// `mode=ro`.
    ReadOnly,
    /// `mode=rw`: the file must exist.
    Existing,
    /// `mode=rwc` (the default): created when missing.
    Create,
}

/// What the caller wants back from a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Every result and every row of every statement.
    All,
    /// Only the first row: the last statement stops at it; every statement before it runs
    /// to its end (its other rows are not read into values).
    FirstRow,
}

/// The statements of one SQL string, prepared; taken out of the cache while in use.
pub struct Prepared {
    /// The statements prepared so far, in order. A statement is prepared only after the ones
    /// before it ran at least once (a script may create the table its next statement uses).
    stmts: Vec<Stmt>,
    /// The SQL text, and the byte offset where its unprepared rest starts.
    text: Box<str>,
    next_at: usize,
    persistent: bool,
    /// The cache key while the statements are out of the cache.
    key: Option<Box<str>>,
}

// SAFETY: statements belong to a connection that is `Send` under the same rule; a `Prepared`
// is only stepped through `LiteConn::run` with `&mut` on that connection.
unsafe impl Send for Prepared {}

impl Prepared {
    /// Whether any statement may write (SQLite's own answer, `sqlite3_stmt_readonly`; a
    /// statement not prepared yet counts as a write).
    pub fn writes(&self) -> bool {
        self.next_at < self.text.len()
            || self
                .stmts
                .iter()
                // SAFETY: a live prepared statement.
                .any(|s| unsafe { ffi::sqlite3_stmt_readonly(s.raw.as_ptr()) } == 0)
    }
}

struct Stmt {
    raw: NonNull<ffi::sqlite3_stmt>,
    columns: Vec<AnyColumn>,
    names: Arc<sqlx_core::HashMap<UStr, usize>>,
}

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: finalized once, here. After `sqlite3_close_v2` the connection stays open as a
        // zombie until its last statement is finalized, so the order does not matter.
        unsafe { ffi::sqlite3_finalize(self.raw.as_ptr()) };
    }
}

/// A failure reported by SQLite, with its extended result code.
#[derive(Debug)]
pub struct LiteError {
    code: c_int,
    message: String,
}

impl LiteError {
    fn other(message: impl Into<String>) -> LiteError {
        LiteError {
            code: ffi::SQLITE_MISUSE,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for LiteError {}

impl DatabaseError for LiteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    // Extended result codes, https://www.sqlite.org/rescode.html.
    fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

fn db_error(e: LiteError) -> sqlx::Error {
    sqlx::Error::Database(Box::new(e))
}

impl LiteConn {
    /// Open `path` (`None`: a private in-memory database).
    pub fn open(path: Option<&std::path::Path>, mode: OpenMode) -> Result<LiteConn, sqlx::Error> {
        let name = match path {
            None => CString::new(":memory:"),
            Some(p) => CString::new(p.as_os_str().as_encoded_bytes()),
        }
        .map_err(|_| db_error(LiteError::other("the database path contains a NUL byte")))?;
        let mut flags = ffi::SQLITE_OPEN_NOMUTEX | ffi::SQLITE_OPEN_EXRESCODE;
        flags |= match mode {
            OpenMode::ReadOnly => ffi::SQLITE_OPEN_READONLY,
            OpenMode::Existing => ffi::SQLITE_OPEN_READWRITE,
            OpenMode::Create => ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE,
        };
        let mut db = ptr::null_mut();
        // SAFETY: a NUL-terminated name, an out pointer, no VFS name.
        let rc = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut db, flags, ptr::null()) };
        let Some(db) = NonNull::new(db) else {
            return Err(db_error(LiteError::other(
                "SQLite could not allocate a connection",
            )));
        };
        let conn = LiteConn {
            db,
            cache: HashMap::new(),
        };
        if rc != ffi::SQLITE_OK {
            // The handle holds the reason; dropping `conn` closes it.
            return Err(db_error(conn.error(rc)));
        }
        Ok(conn)
    }

    /// The connection's last error (SQLite keeps it per connection).
    fn error(&self, rc: c_int) -> LiteError {
        // SAFETY: a live connection; the message is copied before any other call.
        let (code, message) = unsafe {
            let code = ffi::sqlite3_extended_errcode(self.db.as_ptr());
            let msg = ffi::sqlite3_errmsg(self.db.as_ptr());
            let message = if msg.is_null() {
                String::new()
            } else {
                CStr::from_ptr(msg).to_string_lossy().into_owned()
            };
            (if code == 0 { rc } else { code }, message)
        };
        LiteError { code, message }
    }

    /// The statements of `sql`, from the cache when `persistent` (and cached there when given
    /// back), otherwise prepared for this one run.
    pub fn take(&mut self, sql: &str, persistent: bool) -> Result<Prepared, sqlx::Error> {
        if persistent && let Some((key, mut p)) = self.cache.remove_entry(sql) {
            p.key = Some(key);
            return Ok(p);
        }
        let mut p = Prepared {
            stmts: Vec::new(),
            text: sql.into(),
            next_at: 0,
            persistent,
            key: persistent.then(|| sql.into()),
        };
        self.prepare_next(&mut p)?;
        Ok(p)
    }

    /// Prepare the next statement of `p`'s text; false when only whitespace or comments are
    /// left.
    fn prepare_next(&mut self, p: &mut Prepared) -> Result<bool, sqlx::Error> {
        let flags = if p.persistent {
            ffi::SQLITE_PREPARE_PERSISTENT
        } else {
            0
        };
        while p.next_at < p.text.len() {
            let rest = &p.text.as_bytes()[p.next_at..];
            let len = c_int::try_from(rest.len())
                .map_err(|_| db_error(LiteError::other("the SQL text is too long")))?;
            let mut raw = ptr::null_mut();
            let mut tail: *const c_char = ptr::null();
            // SAFETY: `rest` is valid for `len` bytes (SQLite reads no further); out pointers.
            let rc = unsafe {
                ffi::sqlite3_prepare_v3(
                    self.db.as_ptr(),
                    rest.as_ptr().cast(),
                    len,
                    flags,
                    &mut raw,
                    &mut tail,
                )
            };
            if rc != ffi::SQLITE_OK {
                return Err(db_error(self.error(rc)));
            }
            // SAFETY: SQLite sets `tail` inside `rest` (or at its end).
            let used = unsafe { tail.offset_from(rest.as_ptr().cast()) };
            let used = usize::try_from(used).unwrap_or(rest.len()).min(rest.len());
            p.next_at = if used == 0 {
                p.text.len()
            } else {
                p.next_at + used
            };
            if let Some(raw) = NonNull::new(raw) {
                p.stmts.push(Stmt::new(raw));
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Run prepared statements: bind `args`, step each to its end (or to the first row, see
    /// [`Want`]), and give the statements back to the cache.
    pub fn run(
        &mut self,
        mut prepared: Prepared,
        args: Option<AnyArguments>,
        want: Want,
    ) -> Result<Vec<Either<AnyQueryResult, AnyRow>>, sqlx::Error> {
        let args = args.map(|a| a.values.0).unwrap_or_default();
        let out = self.step_all(&mut prepared, &args, want);
        for s in &prepared.stmts {
            // SAFETY: a live statement; resetting ends its read of the database (a statement
            // stopped at a row would otherwise keep its snapshot open).
            unsafe { ffi::sqlite3_reset(s.raw.as_ptr()) };
        }
        if let Some(key) = prepared.key.take() {
            if self.cache.len() >= STATEMENT_CACHE {
                self.cache.clear();
            }
            self.cache.insert(key, prepared);
        }
        out
    }

    fn step_all(
        &mut self,
        prepared: &mut Prepared,
        args: &[AnyValueKind],
        want: Want,
    ) -> Result<Vec<Either<AnyQueryResult, AnyRow>>, sqlx::Error> {
        let mut out = Vec::new();
        let mut used = 0;
        for i in 0.. {
            if i == prepared.stmts.len() && !self.prepare_next(prepared)? {
                break;
            }
            let s = &prepared.stmts[i];
            let raw = s.raw.as_ptr();
            // SAFETY: a live statement of this connection.
            unsafe {
                ffi::sqlite3_reset(raw);
                ffi::sqlite3_clear_bindings(raw);
            }
            used += self.bind(s, args, used)?;
            loop {
                // SAFETY: a live, bound statement.
                match unsafe { ffi::sqlite3_step(raw) } {
                    ffi::SQLITE_ROW => {
                        // Rows past the first are not needed; a later statement of the
                        // string still runs (its effects are not skipped).
                        let last = i + 1 == prepared.stmts.len()
                            && prepared.next_at >= prepared.text.len();
                        if want == Want::FirstRow && last && !out.iter().any(Either::is_right) {
                            out.push(Either::Right(s.row()?));
                            return Ok(out);
                        }
                        if want == Want::All || !out.iter().any(Either::is_right) {
                            out.push(Either::Right(s.row()?));
                        }
                    }
                    ffi::SQLITE_DONE => {
                        // As sqlx-sqlite: the changes of the last write, whatever ran last.
                        // SAFETY: a live connection.
                        let changes = unsafe { ffi::sqlite3_changes64(self.db.as_ptr()) };
                        out.push(Either::Left(AnyQueryResult {
                            rows_affected: u64::try_from(changes).unwrap_or(0),
                            last_insert_id: None,
                        }));
                        break;
                    }
                    rc => return Err(db_error(self.error(rc))),
                }
            }
        }
        Ok(out)
    }

    /// Bind the arguments of one statement; returns how many anonymous (`?`) parameters it used,
    /// which the next statement's anonymous parameters continue after (as sqlx-sqlite).
    fn bind(&self, s: &Stmt, args: &[AnyValueKind], offset: usize) -> Result<usize, sqlx::Error> {
        let raw = s.raw.as_ptr();
        // SAFETY: a live statement.
        let count = unsafe { ffi::sqlite3_bind_parameter_count(raw) };
        let mut next = offset;
        for p in 1..=count {
            // SAFETY: a parameter index in range; the name lives as long as the statement.
            let name = unsafe { ffi::sqlite3_bind_parameter_name(raw, p) };
            let n = if name.is_null() {
                next += 1;
                next
            } else {
                // SAFETY: a NUL-terminated string owned by the statement.
                let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
                name.strip_prefix('?')
                    .or_else(|| name.strip_prefix('$'))
                    .and_then(|d| d.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        sqlx::Error::Protocol(format!("unsupported SQL parameter: {name}"))
                    })?
            };
            // SQLite treats parameters left unbound as NULL; so does sqlx-sqlite.
            let Some(v) = args.get(n - 1) else { break };
            // SAFETY: a live statement; text and blobs are copied (SQLITE_TRANSIENT).
            let rc = unsafe {
                match v {
                    AnyValueKind::Null(_) => ffi::sqlite3_bind_null(raw, p),
                    AnyValueKind::Bool(b) => ffi::sqlite3_bind_int(raw, p, c_int::from(*b)),
                    AnyValueKind::SmallInt(i) => ffi::sqlite3_bind_int(raw, p, c_int::from(*i)),
                    AnyValueKind::Integer(i) => ffi::sqlite3_bind_int(raw, p, *i),
                    AnyValueKind::BigInt(i) => ffi::sqlite3_bind_int64(raw, p, *i),
                    AnyValueKind::Real(r) => ffi::sqlite3_bind_double(raw, p, f64::from(*r)),
                    AnyValueKind::Double(d) => ffi::sqlite3_bind_double(raw, p, *d),
                    AnyValueKind::Text(t) => bind_text(raw, p, t.as_bytes()),
                    AnyValueKind::TextSlice(t) => bind_text(raw, p, t.as_bytes()),
                    AnyValueKind::Blob(b) => bind_blob(raw, p, b),
                    other => {
                        return Err(sqlx::Error::Protocol(format!(
                            "no SQLite mapping for the argument {other:?}"
                        )));
                    }
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(db_error(self.error(rc)));
            }
        }
        Ok(next - offset)
    }

    /// Run `sql` with no arguments to its end (pragmas, transaction control, migrations).
    pub fn exec(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        let p = self.take(sql, false)?;
        let out = self.run(p, None, Want::All)?;
        Ok(out
            .iter()
            .filter_map(|r| r.as_ref().left().map(|r| r.rows_affected))
            .sum())
    }

    /// Close the connection now (statements still out close it when they are finalized).
    pub fn close(self) {
        drop(self);
    }
}

// libsqlite3-sys leaves `sqlite3_close_v2` out of its bindings; the bundled library has it
// (https://www.sqlite.org/c3ref/close.html).
unsafe extern "C" {
    fn sqlite3_close_v2(db: *mut ffi::sqlite3) -> c_int;
}

impl Drop for LiteConn {
    fn drop(&mut self) {
        self.cache.clear();
        // SAFETY: `close_v2` turns a connection with unfinalized statements into a zombie that
        // SQLite frees after the last one; nothing uses the handle after this.
        unsafe { sqlite3_close_v2(self.db.as_ptr()) };
    }
}

/// SAFETY: `raw` is a live statement and `p` a parameter index of it.
unsafe fn bind_text(raw: *mut ffi::sqlite3_stmt, p: c_int, b: &[u8]) -> c_int {
    // SAFETY: the caller's promise; `b` is read for `len` bytes and copied.
    unsafe {
        ffi::sqlite3_bind_text64(
            raw,
            p,
            b.as_ptr().cast(),
            b.len() as u64,
            ffi::SQLITE_TRANSIENT(),
            ffi::SQLITE_UTF8 as u8,
        )
    }
}

/// SAFETY: `raw` is a live statement and `p` a parameter index of it.
unsafe fn bind_blob(raw: *mut ffi::sqlite3_stmt, p: c_int, b: &[u8]) -> c_int {
    // SAFETY: the caller's promise; `b` is read for `len` bytes and copied.
    unsafe {
        ffi::sqlite3_bind_blob64(
            raw,
            p,
            b.as_ptr().cast(),
            b.len() as u64,
            ffi::SQLITE_TRANSIENT(),
        )
    }
}

impl Stmt {
    fn new(raw: NonNull<ffi::sqlite3_stmt>) -> Stmt {
        let r = raw.as_ptr();
        // SAFETY: a live statement; names and declared types live as long as it and are copied.
        let n = unsafe { ffi::sqlite3_column_count(r) };
        let mut columns = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        let mut names = sqlx_core::HashMap::new();
        for i in 0..n {
            let ordinal = usize::try_from(i).unwrap_or(0);
            let name = unsafe { cstr(ffi::sqlite3_column_name(r, i)) };
            let decl = unsafe { cstr(ffi::sqlite3_column_decltype(r, i)) };
            let name = UStr::new(&name);
            names.insert(name.clone(), ordinal);
            columns.push(AnyColumn {
                ordinal,
                name,
                type_info: AnyTypeInfo {
                    kind: declared_kind(&decl),
                },
            });
        }
        Stmt {
            raw,
            columns,
            names: Arc::new(names),
        }
    }

    /// The current row, typed by the values SQLite stored (as sqlx's `Any` driver types them).
    fn row(&self) -> Result<AnyRow, sqlx::Error> {
        let r = self.raw.as_ptr();
        let mut values = Vec::with_capacity(self.columns.len());
        for (i, col) in self.columns.iter().enumerate() {
            let c = c_int::try_from(i).unwrap_or(c_int::MAX);
            // SAFETY: a statement positioned on a row, a column index in range; text and blob
            // pointers are valid until the next step/reset and are copied at once.
            let kind = unsafe {
                match ffi::sqlite3_column_type(r, c) {
                    ffi::SQLITE_INTEGER => AnyValueKind::BigInt(ffi::sqlite3_column_int64(r, c)),
                    ffi::SQLITE_FLOAT => AnyValueKind::Double(ffi::sqlite3_column_double(r, c)),
                    ffi::SQLITE_TEXT => {
                        let p = ffi::sqlite3_column_text(r, c);
                        let bytes = column_bytes(p, ffi::sqlite3_column_bytes(r, c));
                        let text =
                            String::from_utf8(bytes).map_err(|e| sqlx::Error::ColumnDecode {
                                index: format!("{i:?}"),
                                source: Box::new(e),
                            })?;
                        AnyValueKind::Text(Arc::new(text))
                    }
                    ffi::SQLITE_BLOB => {
                        let p = ffi::sqlite3_column_blob(r, c).cast::<u8>();
                        AnyValueKind::Blob(Arc::new(column_bytes(
                            p,
                            ffi::sqlite3_column_bytes(r, c),
                        )))
                    }
                    _ => AnyValueKind::Null(col.type_info.kind),
                }
            };
            values.push(AnyValue { kind });
        }
        Ok(AnyRow {
            column_names: self.names.clone(),
            columns: self.columns.clone(),
            values,
        })
    }
}

/// SAFETY: `p` is null or valid for `len` bytes.
unsafe fn column_bytes(p: *const u8, len: c_int) -> Vec<u8> {
    let len = usize::try_from(len).unwrap_or(0);
    if p.is_null() || len == 0 {
        return Vec::new();
    }
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(p, len) }.to_vec()
}

/// SAFETY: `p` is null or a NUL-terminated string.
unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller's promise.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// A column's declared type by SQLite's affinity rules (https://www.sqlite.org/datatype3.html,
/// §3.1); only reported as the column's type, values are typed by what is stored.
fn declared_kind(decl: &str) -> AnyTypeInfoKind {
    let d = decl.to_ascii_uppercase();
    if d.is_empty() {
        AnyTypeInfoKind::Null
    } else if d.contains("INT") {
        AnyTypeInfoKind::BigInt
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        AnyTypeInfoKind::Text
    } else if d.contains("BLOB") {
        AnyTypeInfoKind::Blob
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        AnyTypeInfoKind::Double
    } else {
        AnyTypeInfoKind::Null
    }
}

mod migrate;
#[cfg(test)]
mod tests;
