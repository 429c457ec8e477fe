//! Small helpers shared by the Domains, Branding, Audit, Child orgs and operator pages: a
//! field's sentence from a service error's fragment, and dates as the pages show them.
//!
//! Owns: turning a service or domain message fragment ("must be …") into a sentence shown
//! next to a form field, in the request's language (the fragment through
//! `service_text::translate`, the field's name through [`LABELS`]). Must not touch: rights,
//! storage.

use super::service_text;
use super::view::current_tr;
use time::OffsetDateTime;

/// The field names callers pass to [`sentence`] and their catalog keys.
const LABELS: &[(&str, &str)] = &[
    ("slug", "portal-label-slug"),
    ("short name", "portal-label-short-name"),
    ("name", "portal-label-name"),
    ("domain", "portal-label-domain"),
    ("display name", "portal-label-display-name"),
    ("logo URL", "portal-label-logo-url"),
    ("primary colour", "portal-label-primary-colour"),
    ("value", "portal-label-value"),
    ("description", "portal-label-description"),
    ("roles", "portal-label-roles"),
    ("allowed role groups", "portal-label-allowed-role-groups"),
    ("redirect URIs", "portal-label-redirect-uris"),
    (
        "sign-out redirect URIs",
        "portal-label-sign-out-redirect-uris",
    ),
    ("invitation validity", "portal-label-invitation-validity"),
    ("client type", "portal-label-client-type"),
];

/// A sentence for a field from a service/domain message fragment: "must be …" becomes
/// "The <label> must be …."; another fragment is capitalized; a full sentence is kept. In
/// the request's language when the fragment and the label are known (else in English).
pub fn sentence(label: &str, message: &str) -> String {
    let tr = current_tr();
    let m = message.trim();
    let m = m.strip_suffix('.').unwrap_or(m);
    let translated = service_text::translate(tr, m);
    if m.starts_with("must ") {
        let key = LABELS.iter().find(|(l, _)| *l == label).map(|(_, k)| *k);
        if let (Some(rule), Some(key)) = (&translated, key) {
            return tr.t2("portal-field-rule", "label", tr.t(key), "rule", rule);
        }
        return format!("The {label} {m}.");
    }
    let m = translated.unwrap_or_else(|| m.to_owned());
    let m = m.strip_suffix('.').unwrap_or(&m);
    let mut c = m.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// `YYYY-MM-DD` (UTC).
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn date_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date(t),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_become_sentences() {
        assert_eq!(
            sentence("slug", "must be 2-63 lowercase letters"),
            "The slug must be 2-63 lowercase letters."
        );
        assert_eq!(
            sentence("domain", "Enter a domain like example.com."),
            "Enter a domain like example.com."
        );
        assert_eq!(
            sentence("value", "a role value must be 1-128 characters"),
            "A role value must be 1-128 characters."
        );
    }

    #[test]
    fn fragments_become_german_sentences() {
        let de = crate::i18n::Tr::new(crate::i18n::Lang::De);
        let s = futures::executor::block_on(super::super::view::with_request(
            de,
            "/portal".into(),
            async {
                (
                    sentence(
                        "short name",
                        "must be 2-63 lowercase letters, digits or single hyphens, not starting or ending with a hyphen",
                    ),
                    sentence(
                        "value",
                        "a role value must be 1-128 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
                    ),
                )
            },
        ));
        assert!(s.0.starts_with("„Kurzname“ muss aus 2 bis 63"), "{}", s.0);
        assert!(s.1.starts_with("Ein Rollenwert muss"), "{}", s.1);
    }

    #[test]
    fn dates_are_utc() {
        let t = time::macros::datetime!(2026-03-04 05:06:07 +02:00);
        assert_eq!(date(t), "2026-03-04");
        assert_eq!(date_time(t), "2026-03-04 03:06:07 UTC");
    }
}
