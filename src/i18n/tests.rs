use super::*;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn catalogs_parse_without_errors_or_duplicates() {
    for lang in Lang::ALL {
        let res = FluentResource::try_new(lang.source().to_owned());
        assert!(res.is_ok(), "{lang}: {:?}", res.err().map(|e| e.1));
        let keys = keys(lang);
        let unique: BTreeSet<_> = keys.iter().collect();
        assert_eq!(keys.len(), unique.len(), "{lang} has a key twice");
        let mut b = FluentBundle::new_concurrent(vec![lang.tag().parse().unwrap()]);
        assert!(b.add_resource(res.unwrap()).is_ok());
    }
}

#[test]
fn every_english_key_is_translated_to_german() {
    let en: BTreeSet<String> = keys(Lang::En).into_iter().collect();
    let de: BTreeSet<String> = keys(Lang::De).into_iter().collect();
    assert!(en.len() > 100, "{}", en.len());
    let missing: Vec<_> = en.difference(&de).collect();
    assert!(missing.is_empty(), "missing in de.ftl: {missing:?}");
    let extra: Vec<_> = de.difference(&en).collect();
    assert!(extra.is_empty(), "in de.ftl but not in en.ftl: {extra:?}");
    for k in &en {
        assert!(has_message(Lang::De, k), "{k}");
        // Translated, not copied (except words that are the same in both).
        let same_ok = [
            "month-4",
            "month-8",
            "month-9",
            "month-11",
            "chooser-list-label",
            // The portal's words that German shares.
            "portal-nav-domains",
            "portal-fact-name",
            "portal-fact-status",
            "portal-members-status",
            "portal-members-app",
            "portal-col-name",
            "portal-col-status",
            "portal-domains-title",
            "portal-domains-domain",
            "portal-conn-scopes",
            "portal-test-ok",
            "portal-test-problem",
            "portal-result-subject",
            "portal-result-claim",
            "portal-op-apps",
            // "Passkey" is German too.
            "passkey-default-name",
        ];
        // Product names in the wizard's presets stay as they are.
        let product = k.starts_with("portal-preset-")
            && !k.ends_with("-hint")
            && !k.ends_with("-generic")
            && !k.ends_with("-oid");
        if !same_ok.contains(&k.as_str()) && !k.starts_with("title-demo") && !product {
            assert_ne!(
                t(Lang::En, k, &[]),
                t(Lang::De, k, &[]),
                "{k} is not translated"
            );
        }
    }
}

/// A message missing from German shows the English one, and a key missing everywhere shows
/// the generic sentence — never the key.
#[test]
fn missing_translation_falls_back_to_english_never_to_a_key() {
    let c = Catalogs::from_sources([
        (
            Lang::En,
            "hello = Hello { $name }.\nonly-en = Only in English.\n",
        ),
        (Lang::De, "hello = Hallo { $name }.\n"),
    ]);
    assert_eq!(
        c.lookup(Lang::De, "hello", &[("name", &"Ada")]),
        "Hallo Ada."
    );
    assert_eq!(c.lookup(Lang::De, "only-en", &[]), "Only in English.");
    let none = c.lookup(Lang::De, "no-such-key", &[]);
    assert_eq!(none, MISSING);
    assert!(!none.contains("no-such-key"));
    // The real catalogs do the same.
    assert_eq!(t(Lang::De, "no-such-key", &[]), MISSING);
}

#[test]
fn arguments_are_plain_and_html_arguments_are_escaped() {
    assert_eq!(
        t(Lang::En, "invite-next-password", &[("app", &"CRM")]),
        "Open CRM and sign in with your email and password."
    );
    // No bidi isolation marks around arguments.
    assert!(!t(Lang::De, "inviter-admin-of", &[("org", &"Acme")]).contains('\u{2068}'));
    let tr = Tr::new(Lang::De);
    let h = tr.h1("login-lead-html", "app", "<b>CRM</b> & Co").0;
    assert_eq!(
        h,
        "Weiter zu <strong>&lt;b&gt;CRM&lt;/b&gt; &amp; Co</strong> mit Ihrer geschäftlichen E-Mail-Adresse."
    );
}

/// Tags in `-html` messages: only `<strong…>`, `<q…>` and `<code>`, the same in every language; no other
/// message has markup.
#[test]
fn markup_is_limited_and_the_same_in_every_language() {
    fn tags(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('<')
            .skip(1)
            .filter_map(|p| p.split_once('>').map(|(t, _)| t.to_owned()))
            .collect();
        out.sort();
        out
    }
    for k in keys(Lang::En) {
        let en = t(Lang::En, &k, &[]);
        let de = t(Lang::De, &k, &[]);
        if k.ends_with("-html") {
            for tag in tags(&en) {
                let name = tag.trim_start_matches('/');
                assert!(
                    name.starts_with("strong")
                        || name == "q"
                        || name.starts_with("q ")
                        || name == "code",
                    "{k}: <{tag}>"
                );
            }
            assert_eq!(tags(&en), tags(&de), "{k}");
        } else {
            assert!(!en.contains('<') && !de.contains('<'), "{k} has markup");
        }
    }
}

#[test]
fn tags_and_ui_locales() {
    assert_eq!(Lang::from_tag("de"), Some(Lang::De));
    assert_eq!(Lang::from_tag("DE-at"), Some(Lang::De));
    assert_eq!(Lang::from_tag("en_GB"), Some(Lang::En));
    assert_eq!(Lang::from_tag("fr"), None);
    assert_eq!(Lang::from_tag(""), None);
    assert_eq!(from_ui_locales(Some("fr-CA de en")), Some(Lang::De));
    assert_eq!(from_ui_locales(Some("fr ja")), None);
    assert_eq!(from_ui_locales(None), None);
    assert_eq!(supported_tags(), vec!["en", "de"]);
}

#[test]
fn accept_language_by_weight() {
    assert_eq!(
        from_accept_language(Some("de-DE,de;q=0.9,en;q=0.8")),
        Some(Lang::De)
    );
    assert_eq!(
        from_accept_language(Some("en;q=0.5, de;q=0.7")),
        Some(Lang::De)
    );
    assert_eq!(from_accept_language(Some("fr, de;q=0.1")), Some(Lang::De));
    assert_eq!(from_accept_language(Some("de;q=0, en")), Some(Lang::En));
    assert_eq!(from_accept_language(Some("fr, *")), None);
    assert_eq!(from_accept_language(Some("de;q=abc")), None);
    assert_eq!(from_accept_language(Some(";;,,")), None);
    assert_eq!(from_accept_language(None), None);
}

/// ui_locales, then the person's choice, then Accept-Language, then English.
#[test]
fn negotiation_order() {
    let de_browser = Some("de-DE,de;q=0.9");
    let en_browser = Some("en-US,en;q=0.9");
    assert_eq!(negotiate(Some("de"), Some(Lang::En), en_browser), Lang::De);
    assert_eq!(negotiate(Some("en"), Some(Lang::De), de_browser), Lang::En);
    // An unsupported ui_locales does not count.
    assert_eq!(negotiate(Some("fr"), Some(Lang::De), en_browser), Lang::De);
    assert_eq!(negotiate(None, Some(Lang::De), en_browser), Lang::De);
    assert_eq!(negotiate(None, None, de_browser), Lang::De);
    assert_eq!(negotiate(Some("fr"), None, Some("fr")), Lang::En);
    assert_eq!(negotiate(None, None, None), Lang::En);
    // The portal's entry: its user's choice, then the browser.
    let mut h = axum::http::HeaderMap::new();
    h.insert("accept-language", "de".parse().unwrap());
    assert_eq!(Tr::for_request(&h, None).lang(), Lang::De);
    assert_eq!(Tr::for_request(&h, Some(Lang::En)).lang(), Lang::En);
    assert_eq!(
        Tr::for_request(&axum::http::HeaderMap::new(), None).lang(),
        Lang::En
    );
}

/// Every key the code and the templates use exists in English: string literals passed to
/// `Msg::new`, `t`/`t1`…/`h1`…/`html`/`args` (Rust and templates).
#[test]
fn every_key_used_in_code_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    collect(&root.join("templates"), &mut files);
    let mut used = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for call in [
            "Msg::new(\"",
            ".t(\"",
            ".t1(\"",
            ".t2(\"",
            ".t3(\"",
            ".h0(\"",
            ".h1(\"",
            ".h2(\"",
            ".h3(\"",
            ".html(\"",
            ".args(\"",
            "t(lang, \"",
            "t(self.0, \"",
        ] {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                let key: String = rest.chars().take_while(|c| *c != '"').collect();
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    used.insert((key, f.display().to_string()));
                }
            }
        }
    }
    assert!(used.len() > 100, "found only {} uses", used.len());
    let missing: Vec<_> = used
        .iter()
        .filter(|(k, _)| !has_message(Lang::En, k) && k != "no-such-key")
        .collect();
    assert!(missing.is_empty(), "keys missing from en.ftl: {missing:?}");
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "rs" || x == "html" || x == "txt")
        {
            out.push(p);
        }
    }
}

/// A sentence stored as its English reads in the page's language.
#[test]
fn english_sentences_are_reworded() {
    let en = Msg::new("portal-error-csrf").en();
    assert_eq!(
        Tr::new(Lang::De).reword(&en),
        t(Lang::De, "portal-error-csrf", &[])
    );
    assert_eq!(Tr::new(Lang::En).reword(&en), en);
    assert_eq!(
        Tr::new(Lang::De).reword("Not a catalog sentence."),
        "Not a catalog sentence."
    );
}
