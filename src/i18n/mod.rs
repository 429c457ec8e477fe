//! Languages: the message catalogs (`locales/<lang>.ftl`, Fluent syntax, compiled into the
//! binary) and the choice of a language for a request. Every sentence a person reads on the
//! hosted pages and in the emails comes from here; the portal uses the same API.
//!
//! Owns: the catalogs, [`Lang`], negotiation ([`negotiate`]: `ui_locales` of the sign-in
//! request, then the person's own choice, then `Accept-Language`, then English) and lookup
//! ([`t`], [`Tr`]). Must not touch: storage, flows, HTTP routing — callers pass in what they
//! know (the flow's `ui_locales`, the portal user's choice, the request's headers).
//!
//! A message missing from a catalog falls back to English; a key missing from English too
//! (a bug, caught by the tests that scan the code for keys) renders a generic sentence and is
//! logged — a person never sees a key.
//!
//! # Using it
//!
//! In Rust code, a [`Msg`] names a fixed sentence; [`t`] formats any key with arguments:
//!
//! ```
//! use lobby::i18n::{Lang, Msg, Tr, t, negotiate};
//!
//! const WELCOME: Msg = Msg::new("button-continue");
//! let lang = negotiate(Some("de-CH en"), None, Some("en-US,en;q=0.8"));
//! assert_eq!(lang, Lang::De);
//! assert_eq!(WELCOME.get(lang), "Weiter");
//! assert_eq!(t(Lang::En, "invite-next-password", &[("app", &"CRM")]),
//!            "Open CRM and sign in with your email and password.");
//! // Through a translator (what templates get); a portal page would use
//! // `Tr::for_request(&headers, user_choice)`:
//! let tr = Tr::new(Lang::De);
//! assert_eq!(tr.t1("inviter-admin-of", "org", "Acme"), "Ein Administrator von Acme");
//! ```
//!
//! In an askama template, pass a [`Tr`] (the hosted pages have one in `Chrome`, `c.tr`):
//!
//! ```text
//! <html lang="{{ c.tr.tag() }}">
//! <button>{{ c.tr.t("button-continue") }}</button>
//!     text, escaped by askama
//! <p>{{ c.tr.t1("invite-next-password", "app", app_name) }}</p>
//!     one argument (t2, t3: two, three; askama passes arguments by reference)
//! <p>{{ c.tr.h1("login-lead-html", "app", app_name) }}</p>
//!     markup from the catalog, arguments escaped
//! {% if let Some(e) = error %}{{ c.tr.msg(e) }}{% endif %}
//!     a `Msg`
//! ```
//!
//! The portal: keep each page's sentences as keys in the catalogs (a `portal-` prefix), give
//! its layout a `Tr::for_request(&headers, user_choice)` and call the same methods.
//!
//! `t…` return plain text (askama escapes it); `h…` return HTML: the catalog's own markup
//! (`<strong>`, `<q>`, `<code>` only, checked by a test) with every argument HTML-escaped, so no
//! `|safe` is needed. Arguments are text (no plural selection on numbers yet).
//!
//! Adding a sentence: add `key = English` to `locales/en.ftl` and its translation to
//! `locales/de.ftl` (the tests fail when a key used in code or templates is missing from
//! English, or a key of English is missing from German).

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language Lobby has a complete catalog for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    De,
}

impl Lang {
    /// Every supported language, English (the fallback) first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// The BCP 47 tag: `"en"`, `"de"` (for `<html lang>` and `ui_locales_supported`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The supported language of a BCP 47 tag, by its primary subtag (`de-AT` → German),
    /// case-insensitive; `None` for anything else.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::De => include_str!("../../locales/de.ftl"),
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

/// The tags of [`Lang::ALL`], for discovery's `ui_locales_supported`.
pub fn supported_tags() -> Vec<&'static str> {
    Lang::ALL.iter().map(|l| l.tag()).collect()
}

/// The first supported language of an OIDC `ui_locales` value (space-separated BCP 47 tags in
/// order of preference, OIDC Core §3.1.2.1).
pub fn from_ui_locales(v: Option<&str>) -> Option<Lang> {
    v?.split_ascii_whitespace().find_map(Lang::from_tag)
}

/// The most preferred supported language of an `Accept-Language` value (RFC 9110 §12.5.4):
/// by `q` (ties keep their order), `q=0` excluded, `*` ignored.
pub fn from_accept_language(v: Option<&str>) -> Option<Lang> {
    let mut ranges: Vec<(u16, Lang)> = Vec::new();
    for item in v?.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = 1000u16;
        for p in parts {
            if let Some(x) = p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")) {
                q = parse_q(x).unwrap_or(0);
            }
        }
        if q == 0 {
            continue;
        }
        if let Some(l) = Lang::from_tag(tag) {
            ranges.push((q, l));
        }
    }
    // Stable: equal weights keep the header's order.
    ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
    ranges.first().map(|r| r.1)
}

/// A `qvalue` in thousandths.
fn parse_q(x: &str) -> Option<u16> {
    let f: f32 = x.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&f)
        .then(|| (f * 1000.0).round() as u16)
}

/// The language of a page: the sign-in request's `ui_locales` (when it names a supported
/// language), else the person's own choice (the portal's setting), else the request's
/// `Accept-Language`, else English.
pub fn negotiate(
    ui_locales: Option<&str>,
    user_choice: Option<Lang>,
    accept_language: Option<&str>,
) -> Lang {
    from_ui_locales(ui_locales)
        .or(user_choice)
        .or_else(|| from_accept_language(accept_language))
        .unwrap_or_default()
}

/// The `Accept-Language` header of a request, if it is text.
pub fn accept_language(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// A fixed sentence: the key of a catalog message. Compare and pass these around; turn one
/// into text at the last moment with [`Msg::get`] (or `tr.msg(m)` in a template).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Msg(&'static str);

impl Msg {
    pub const fn new(key: &'static str) -> Self {
        Self(key)
    }

    pub fn key(self) -> &'static str {
        self.0
    }

    /// The sentence in `lang`.
    pub fn get(self, lang: Lang) -> String {
        t(lang, self.0, &[])
    }

    /// The sentence in English (what tests compare).
    pub fn en(self) -> String {
        self.get(Lang::En)
    }
}

/// A [`Msg`] or a reference to one (what templates hand to [`Tr::msg`]).
pub trait AsMsg {
    fn as_msg(&self) -> Msg;
}

impl AsMsg for Msg {
    fn as_msg(&self) -> Msg {
        *self
    }
}

impl<T: AsMsg + ?Sized> AsMsg for &T {
    fn as_msg(&self) -> Msg {
        (**self).as_msg()
    }
}

/// Shown if a key is missing from every catalog (a bug the tests catch): never the key itself.
const MISSING: &str = "Something went wrong on our side. Try again in a few minutes.";

struct Catalogs {
    bundles: HashMap<Lang, FluentBundle<FluentResource>>,
}

/// Parsed once, read-only afterwards.
static CATALOGS: LazyLock<Catalogs> =
    LazyLock::new(|| Catalogs::from_sources(Lang::ALL.map(|l| (l, l.source()))));

impl Catalogs {
    fn from_sources(sources: impl IntoIterator<Item = (Lang, &'static str)>) -> Self {
        let mut bundles = HashMap::new();
        for (lang, source) in sources {
            let res = match FluentResource::try_new(source.to_owned()) {
                Ok(r) => r,
                Err((r, errs)) => {
                    // Only entries that failed to parse are lost; a test keeps this at zero.
                    tracing::error!(lang = %lang, errors = ?errs, "message catalog has errors");
                    r
                }
            };
            let id: unic_langid::LanguageIdentifier = lang.tag().parse().unwrap_or_default();
            let mut b = FluentBundle::new_concurrent(vec![id]);
            // Plain text out: no bidi isolation marks around arguments (left-to-right only).
            b.set_use_isolating(false);
            if let Err(errs) = b.add_resource(res) {
                tracing::error!(lang = %lang, errors = ?errs, "message catalog has duplicates");
            }
            bundles.insert(lang, b);
        }
        Self { bundles }
    }

    fn format(&self, lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let bundle = self.bundles.get(&lang)?;
        let pattern = bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let s = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(lang = %lang, key, errors = ?errors, "message formatted with errors");
        }
        Some(s.into_owned())
    }

    /// The key of the argument-free English message that reads exactly `english`.
    fn key_of_english(&self, english: &str) -> Option<String> {
        let bundle = self.bundles.get(&Lang::En)?;
        keys(Lang::En).into_iter().find(|k| {
            let Some(pattern) = bundle.get_message(k).and_then(|m| m.value()) else {
                return false;
            };
            let mut errors = Vec::new();
            let s = bundle.format_pattern(pattern, None, &mut errors);
            errors.is_empty() && s == english
        })
    }

    /// Whether `lang`'s own catalog has `key`.
    fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundles.get(&lang).is_some_and(|b| b.has_message(key))
    }

    /// `key` in `lang`, else in English, else the generic sentence (logged).
    fn lookup(&self, lang: Lang, key: &str, args: &[(&str, &dyn Display)]) -> String {
        let fargs = (!args.is_empty()).then(|| {
            let mut a = FluentArgs::with_capacity(args.len());
            for (name, value) in args {
                a.set(*name, FluentValue::from(value.to_string()));
            }
            a
        });
        self.format(lang, key, fargs.as_ref())
            .or_else(|| {
                tracing::warn!(lang = %lang, key, "message missing: English shown");
                self.format(Lang::En, key, fargs.as_ref())
            })
            .unwrap_or_else(|| {
                tracing::error!(key, "message missing from every catalog");
                MISSING.to_owned()
            })
    }
}

/// The message `key` in `lang` with named arguments (`{ $name }` in the catalog), falling
/// back to English when `lang` lacks it.
pub fn t(lang: Lang, key: &str, args: &[(&str, &dyn Display)]) -> String {
    CATALOGS.lookup(lang, key, args)
}

/// Whether `lang`'s own catalog (no fallback) has `key`: for tests and tools.
pub fn has_message(lang: Lang, key: &str) -> bool {
    CATALOGS.has(lang, key)
}

/// The keys of `lang`'s catalog, in file order: for tests and tools.
pub fn keys(lang: Lang) -> Vec<String> {
    lang.source()
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .collect()
}

/// `&`, `<`, `>`, `"` and `'` as character references.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// HTML a template writes as it is: the catalog's markup with escaped arguments.
pub type Html = askama::filters::HtmlSafeOutput<String>;

/// A translator for one language: what templates get (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tr(Lang);

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self(lang)
    }

    pub fn lang(&self) -> Lang {
        self.0
    }

    /// The translator for a request outside a sign-in flow (the portal's pages): the person's
    /// own choice, else the browser's `Accept-Language`, else English ([`negotiate`]).
    pub fn for_request(headers: &axum::http::HeaderMap, user_choice: Option<Lang>) -> Self {
        Self(negotiate(None, user_choice, accept_language(headers)))
    }

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(&self) -> &'static str {
        self.0.tag()
    }

    /// A fixed sentence (`Msg`, or any reference to one: askama passes arguments by reference).
    pub fn msg(&self, m: impl AsMsg) -> String {
        m.as_msg().get(self.0)
    }

    pub fn t(&self, key: &str) -> String {
        t(self.0, key, &[])
    }

    pub fn t1(&self, key: &str, n1: &str, v1: impl Display) -> String {
        t(self.0, key, &[(n1, &v1)])
    }

    pub fn t2(&self, key: &str, n1: &str, v1: impl Display, n2: &str, v2: impl Display) -> String {
        t(self.0, key, &[(n1, &v1), (n2, &v2)])
    }

    #[allow(clippy::too_many_arguments)] // three name/value pairs, for templates
    pub fn t3(
        &self,
        key: &str,
        n1: &str,
        v1: impl Display,
        n2: &str,
        v2: impl Display,
        n3: &str,
        v3: impl Display,
    ) -> String {
        t(self.0, key, &[(n1, &v1), (n2, &v2), (n3, &v3)])
    }

    /// A fixed sentence that reached us as English text (a [`Msg`]'s English kept in a stored
    /// record) in this language: the catalog message that reads so in English, else the text
    /// as it is.
    pub fn reword(&self, english: &str) -> String {
        if self.0 == Lang::En {
            return english.to_owned();
        }
        CATALOGS
            .key_of_english(english)
            .map_or_else(|| english.to_owned(), |k| t(self.0, &k, &[]))
    }

    /// Any number of arguments (from Rust code).
    pub fn args(&self, key: &str, args: &[(&str, &dyn Display)]) -> String {
        t(self.0, key, args)
    }

    /// A message with markup, every argument escaped.
    pub fn html(&self, key: &str, args: &[(&str, &dyn Display)]) -> Html {
        let escaped: Vec<(&str, String)> = args
            .iter()
            .map(|(n, v)| (*n, escape_html(&v.to_string())))
            .collect();
        let refs: Vec<(&str, &dyn Display)> = escaped
            .iter()
            .map(|(n, v)| (*n, v as &dyn Display))
            .collect();
        askama::filters::HtmlSafeOutput(t(self.0, key, &refs))
    }

    /// A message with markup and no arguments.
    pub fn h0(&self, key: &str) -> Html {
        self.html(key, &[])
    }

    pub fn h1(&self, key: &str, n1: &str, v1: impl Display) -> Html {
        self.html(key, &[(n1, &v1)])
    }

    pub fn h2(&self, key: &str, n1: &str, v1: impl Display, n2: &str, v2: impl Display) -> Html {
        self.html(key, &[(n1, &v1), (n2, &v2)])
    }

    #[allow(clippy::too_many_arguments)] // three name/value pairs, for templates
    pub fn h3(
        &self,
        key: &str,
        n1: &str,
        v1: impl Display,
        n2: &str,
        v2: impl Display,
        n3: &str,
        v3: impl Display,
    ) -> Html {
        self.html(key, &[(n1, &v1), (n2, &v2), (n3, &v3)])
    }
}

#[cfg(test)]
mod tests;
