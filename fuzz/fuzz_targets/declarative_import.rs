//! The declarative import file (`lobby import tenant.yaml`): YAML parsing into the document
//! shape with every element's validation on conversion, the line lookup that places errors
//! (`locate`, also called with a path taken from the input after a NUL byte), and — for every
//! input that parses — the whole import (building, cross-object validation, planning, the one
//! transaction) into a fresh, empty in-memory SQLite store, so each run starts from the same
//! state. A second import of the same file must then change nothing (import is idempotent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobby::admin::declarative::{import, locate, parse};
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static R: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    R.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (yaml, path) = text.split_once('\0').unwrap_or((text, "orgs[0].slug"));
    if let Some(line) = locate(yaml, path) {
        assert!(line >= 1 && line <= yaml.lines().count().max(1));
    }
    if parse(yaml).is_err() {
        return;
    }
    runtime().block_on(async {
        let storage = lobby::storage::open("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        if import(storage.as_ref(), yaml, "fuzz").await.is_ok() {
            let again = import(storage.as_ref(), yaml, "fuzz")
                .await
                .expect("a file that imported once imports again");
            assert_eq!(again.changes(), 0, "a second import changes nothing");
        }
    });
});
