//! Declarative configuration: `lobby import tenant.yaml` and `lobby export`.
//!
//! Owns: the YAML document shape (each element is the admin API's create request, with its
//! `id`), parsing with line numbers, planning an import as a diff against what is stored, and
//! a deterministic export. Must not touch: validation rules (it reuses `service`'s builders
//! and checks, against the stored objects overlaid with the file's), storage internals.
//!
//! Import is additive (nothing absent from the file is deleted), idempotent (a second run
//! changes nothing: objects are compared without their versions and timestamps) and
//! all-or-nothing (every change goes to `Storage::apply_changes` in one transaction, after
//! everything was validated).
//!
//! Secrets: `client_secret` (apps) and `password` (users) are accepted in plaintext and
//! hashed; export writes `client_secret_hash` and never passwords or upstream (OIDC) client
//! secrets. An import without an upstream secret or password keeps the stored one.
//!
//! Layout: `document` (the YAML shapes, parsing, errors with line numbers), `build` (each
//! element → its domain object, next to what is stored under its key), `overlay` (the stored
//! world overlaid with the file, and every cross-object rule checked against it), `plan`
//! (the import itself: diff against storage, the change list, one transaction), `export`.
//! Everything public is re-exported here: callers name `declarative::X`.

mod build;
mod document;
mod export;
mod overlay;
mod plan;

pub use document::*;
pub use export::*;
pub use plan::*;
