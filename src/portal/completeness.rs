//! Checks that the portal speaks only through the catalogs: no portal template has text or a
//! person-facing attribute (`title`, `placeholder`, `aria-label`, `alt`, `label`) outside an
//! askama expression, except an explicit list of words that are the same in every language;
//! and no portal Rust code (outside its tests) holds an English sentence, except an explicit
//! list of strings nobody reads on a page (log causes, headers, defaults of form fields).
//!
//! Owns: these two scans and their allow-lists. Must not touch: the pages themselves.

use std::path::{Path, PathBuf};

/// Words a template may hold as they are: protocol names, and each language's own name in
/// the language chooser.
const SAME_IN_EVERY_LANGUAGE: &[&str] = &["SAML", "OpenID", "Connect", "TXT", "English", "Deutsch"];

/// String literals of the portal's Rust code that no person reads as a sentence.
const NOT_SHOWN: &[&str] = &[
    // Causes of internal errors (logged; the page says the generic sentence).
    "the portal session layer is missing",
    "portal scope used outside a matched route",
    "portal scope used on a route without {org_id}",
    "storing the test sign-in ticket: {e}",
    "SAML SP keys: {e}",
    // Headers and protocol values.
    super::PORTAL_CSP,
    "form-action 'self'",
    "form-action 'self' {}",
    "form-action 'self' {public}",
    "attachment; filename=\\\"lobby-sp-metadata-{id}.xml\\\"",
    "public, max-age=3600",
    "text/css; charset=utf-8",
    "text/javascript; charset=utf-8",
    // The OIDC form's default scopes (a value, not a sentence).
    "openid email profile",
    // What `require_operator` names in its refusal, which the portal turns into the 404 page.
    "take over a domain another organization has verified",
    // Field names handed to `wording::sentence`, which maps them to catalog keys.
    "sign-out redirect URIs",
    "allowed role groups",
];

/// Files whose English is the service layer's, matched to catalog keys there.
const TABLES: &[&str] = &["service_text.rs", "wording.rs", "completeness.rs"];

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// The template without its askama blocks (`{{ … }}`, `{% … %}`, `{# … #}`), each replaced by
/// a space.
fn without_askama(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let close = match rest[i..].chars().nth(1) {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                out.push('{');
                rest = &rest[i + 1..];
                continue;
            }
        };
        match rest[i + 2..].find(close) {
            Some(j) => {
                out.push(' ');
                rest = &rest[i + 2 + j + 2..];
            }
            None => panic!("unclosed askama block"),
        }
    }
    out.push_str(rest);
    out
}

/// The text nodes and person-facing attribute values of an HTML fragment.
fn texts(html: &str) -> Vec<String> {
    const ATTRS: [&str; 5] = ["title", "placeholder", "aria-label", "alt", "label"];
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        match rest.find('<') {
            Some(0) => {
                let end = rest.find('>').expect("an unclosed tag");
                let tag = &rest[1..end];
                for a in ATTRS {
                    let mut t = tag;
                    while let Some(i) = t.find(&format!("{a}=\"")) {
                        let before = t[..i].chars().last();
                        let v = &t[i + a.len() + 2..];
                        let close = v.find('"').expect("an unclosed attribute");
                        if before.is_none_or(|c| c.is_whitespace()) {
                            out.push(v[..close].to_owned());
                        }
                        t = &v[close..];
                    }
                }
                rest = &rest[end + 1..];
            }
            Some(i) => {
                out.push(rest[..i].to_owned());
                rest = &rest[i..];
            }
            None => {
                out.push(rest.to_owned());
                rest = "";
            }
        }
    }
    out
}

/// The words (two letters or more) of `text` that are not allowed to stand as they are.
fn foreign_words(text: &str) -> Vec<String> {
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ");
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 2)
        .filter(|w| !SAME_IN_EVERY_LANGUAGE.contains(w))
        .map(str::to_owned)
        .collect()
}

#[test]
fn portal_templates_hold_no_text_outside_the_catalogs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/portal");
    let mut all = Vec::new();
    files(&root, "html", &mut all);
    assert!(all.len() >= 25, "found only {} templates", all.len());
    let mut found = Vec::new();
    for f in &all {
        let src = std::fs::read_to_string(f).unwrap();
        for t in texts(&without_askama(&src)) {
            let w = foreign_words(&t);
            if !w.is_empty() {
                found.push(format!("{}: {:?}", f.display(), t.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "hard-coded text in portal templates (use l.tr.t…):\n{}",
        found.join("\n")
    );
}

/// The scan itself: it sees text, attributes, and nothing inside askama blocks.
#[test]
fn the_template_scan_finds_hard_coded_text() {
    let t = texts(&without_askama(
        r#"<p title="Hello there">{{ l.tr.t("portal-name") }} Welcome</p><input placeholder="{{ l.tr.t("portal-skip") }}" data-x="plain"><b>SAML</b>{% if a %}OK{% endif %}"#,
    ));
    let words: Vec<String> = t.iter().flat_map(|x| foreign_words(x)).collect();
    assert_eq!(words, ["Hello", "there", "Welcome", "OK"]);
}

/// Every string literal of two or more words in the portal's Rust code (outside tests, log
/// lines and comments) that reads like a sentence.
fn rust_sentences(src: &str) -> Vec<String> {
    let mut code = src.split("#[cfg(test)]").next().unwrap_or(src).to_owned();
    // Raw strings hold documents (XML), not sentences.
    while let Some(i) = code.find("r#\"") {
        let end = code[i..].find("\"#").map_or(code.len(), |j| i + j + 2);
        code.replace_range(i..end, "\"\"");
    }
    let mut out = Vec::new();
    for line in code.lines() {
        let l = line.trim_start();
        if l.starts_with("//") || l.contains("tracing::") {
            continue;
        }
        let mut rest = l;
        while let Some(i) = rest.find('"') {
            let after = &rest[i + 1..];
            // The literal up to its closing quote (escaped quotes are part of it).
            let mut end = None;
            let mut escaped = false;
            for (k, c) in after.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(k);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let Some(end) = end else { break };
            let lit = &after[..end];
            let words = lit
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| w.len() >= 2)
                .count();
            if words >= 3 && lit.contains(' ') && !lit.starts_with("portal-") {
                out.push(lit.to_owned());
            }
            rest = &after[end + 1..];
        }
    }
    out
}

#[test]
fn portal_code_holds_no_english_sentences() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/portal");
    let mut all = Vec::new();
    files(&root, "rs", &mut all);
    let mut found = Vec::new();
    for f in &all {
        if TABLES.iter().any(|t| f.ends_with(t)) {
            continue;
        }
        for s in rust_sentences(&std::fs::read_to_string(f).unwrap()) {
            if !NOT_SHOWN.contains(&s.as_str()) {
                found.push(format!("{}: {s:?}", f.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "English sentences in portal code (use a catalog key):\n{}",
        found.join("\n")
    );
}
