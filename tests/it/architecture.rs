//! The module structure, checked: the top-level modules of `src/` (a file `src/x.rs` or a
//! folder `src/x/`) and the `crate::` paths between them form a graph without cycles, so every
//! dependency points one way (edges → domain → storage/state traits, DESIGN §7). Unit-test
//! modules (`#[cfg(test)] mod tests { … }`) are left out: a test may reach the composition root.
//!
//! Owns: reading `src/` as text. Must not touch: anything at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/login/saml/acs.rs` → `login`.
fn unit_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src/");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

/// The code of a file without comments and without its inline unit-test module
/// (`#[cfg(test)] mod tests { … }`, by convention the file's last item).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines.peek().is_some_and(|n| {
                let n = n.trim_start();
                n.starts_with("mod ") && n.contains('{')
            })
        {
            break;
        }
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Files and folders of modules declared test-only in `file` (`#[cfg(test)] mod x;`): in Rust's
/// layout, `dir/x.rs` or `dir/x/`, where `dir` is the folder of `mod.rs`/`lib.rs`, else the
/// folder named after the file.
fn test_only_modules(file: &Path, text: &str) -> Vec<PathBuf> {
    let parent = file.parent().expect("a parent");
    let stem = file.file_stem().expect("a stem").to_string_lossy();
    let dir = if stem == "mod" || stem == "lib" || stem == "main" {
        parent.to_path_buf()
    } else {
        parent.join(stem.as_ref())
    };
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with("#[cfg(test)]") {
            continue;
        }
        let Some(next) = lines.peek() else { break };
        let decl = next.trim();
        let decl = decl
            .strip_prefix("pub(crate) ")
            .or_else(|| decl.strip_prefix("pub(super) "))
            .or_else(|| decl.strip_prefix("pub "))
            .unwrap_or(decl);
        if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            out.push(dir.join(format!("{name}.rs")));
            out.push(dir.join(name));
        }
    }
    out
}

/// The top-level modules named by `crate::x` paths, including grouped `crate::{x, y::z}`.
fn referenced(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before_ok = i == 0 || {
            let c = rest.as_bytes()[i - 1];
            !(c.is_ascii_alphanumeric() || c == b'_')
        };
        rest = &rest[i + "crate::".len()..];
        if !before_ok {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: split at commas outside nested braces.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_head(&item, &mut found);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            push_head(&item, &mut found);
        } else {
            push_head(rest, &mut found);
        }
    }
    found
}

fn push_head(path: &str, found: &mut BTreeSet<String>) {
    let head: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !head.is_empty() && head != "self" {
        found.insert(head);
    }
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.g.contains_key(w) {
                continue;
            }
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// Top-level module → the top-level modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;
/// (from, to) → one file that makes the edge.
type Witness = BTreeMap<(String, String), String>;

/// The graph of top-level modules, and for each edge one file that makes it.
fn module_graph() -> (Graph, Witness) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut test_only = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read a source file");
        test_only.extend(test_only_modules(f, &text));
    }
    files.retain(|f| !test_only.iter().any(|t| f == t || f.starts_with(t)));
    let mut graph = Graph::new();
    let mut witness = Witness::new();
    for f in &files {
        let unit = unit_of(&src, f);
        if unit == "lib" || unit == "main" {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("read a source file");
        let deps = referenced(&code_of(&text));
        let entry = graph.entry(unit.clone()).or_default();
        for d in deps {
            if d != unit {
                witness
                    .entry((unit.clone(), d.clone()))
                    .or_insert_with(|| f.strip_prefix(&src).unwrap().display().to_string());
                entry.insert(d);
            }
        }
    }
    (graph, witness)
}

#[test]
fn no_import_cycle_spans_two_top_level_modules() {
    let (graph, witness) = module_graph();
    for (unit, deps) in &graph {
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        println!("{unit:>10} -> {}", deps.join(", "));
    }
    let found = cycles(&graph);
    let explain: Vec<String> = found
        .iter()
        .map(|c| {
            let edges: Vec<String> = witness
                .iter()
                .filter(|((a, b), _)| c.contains(a) && c.contains(b))
                .map(|((a, b), f)| format!("{a} -> {b} (src/{f})"))
                .collect();
            format!("cycle {:?}: {}", c, edges.join("; "))
        })
        .collect();
    assert!(found.is_empty(), "{}", explain.join("\n"));
}

#[test]
fn the_graph_reader_sees_cycles_and_grouped_imports() {
    let code = code_of(
        "use crate::{domain::{A, B}, storage};\n// crate::ignored\nfn f() { crate::http::x(); }\n#[cfg(test)]\nmod fuzz;\nfn g() { crate::keys::y(); }\n#[cfg(test)]\nmod tests { use crate::app; }\n",
    );
    let r = referenced(&code);
    let want: BTreeSet<String> = ["domain", "storage", "http", "keys"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(r, want);
    let declared = test_only_modules(
        Path::new("src/login/identity/mod.rs"),
        "#[cfg(test)]\nmod tests;\n#[cfg(test)]\npub(crate) mod testkit;\nmod real;\n",
    );
    assert_eq!(
        declared,
        vec![
            PathBuf::from("src/login/identity/tests.rs"),
            PathBuf::from("src/login/identity/tests"),
            PathBuf::from("src/login/identity/testkit.rs"),
            PathBuf::from("src/login/identity/testkit"),
        ]
    );
    let in_file = test_only_modules(
        Path::new("src/upstream/saml.rs"),
        "#[cfg(test)]\nmod fuzz;\n",
    );
    assert_eq!(in_file[0], PathBuf::from("src/upstream/saml/fuzz.rs"));
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
}
