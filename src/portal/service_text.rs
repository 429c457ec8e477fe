//! The admin service's, the domain rules' and the connection checks' English sentences as the
//! portal shows them: each known sentence (or "must …" fragment) of `admin::service`, `domain`,
//! `admin::connection_ops` and `upstream::oidc::check` maps to a catalog key (`portal-svc-…`,
//! `portal-chk-…`), its variable parts (ids, role names, URLs) becoming the message's
//! arguments, so a German portal user reads German. The JSON admin API keeps the English.
//!
//! Owns: the table of those sentences and matching one against it. Must not touch: the
//! service layer (its messages stay as they are; a test checks the table against the English
//! catalog, which must say exactly what the service says).

use crate::i18n::Tr;

/// The service's English (with `{name}` for a variable part, which matches any text) and the
/// catalog key that says it (in English, identically).
const TABLE: &[(&str, &str)] = &[
    (
        "must be 2-63 lowercase letters, digits or single hyphens, not starting or ending with a hyphen",
        "portal-svc-slug",
    ),
    (
        "must be 1-200 characters without control characters",
        "portal-svc-name",
    ),
    (
        "must be a DNS domain name with at least two labels, like example.com",
        "portal-svc-domain",
    ),
    ("must be a color like #1a2b3c", "portal-svc-color"),
    ("must be an absolute https URL", "portal-svc-https-url"),
    ("must be at most 2000 characters", "portal-svc-max-2000"),
    ("must be at most 1000 characters", "portal-svc-max-1000"),
    (
        "must be an email address like name@example.com",
        "portal-svc-email",
    ),
    (
        "a role value must be 1-128 characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
        "portal-svc-role-value",
    ),
    (
        "at least one redirect URI is required",
        "portal-svc-redirect-required",
    ),
    (
        "must be between 300 seconds and 90 days",
        "portal-svc-invite-ttl",
    ),
    (
        "must be 1-128 visible ASCII characters without ':', quotes or backslashes",
        "portal-svc-client-id",
    ),
    ("must be 1-255 characters", "portal-svc-len-255"),
    ("must be 1-1024 characters", "portal-svc-len-1024"),
    ("must be an absolute URL", "portal-svc-absolute-url"),
    (
        "must be an http(s) URL without query or fragment",
        "portal-svc-http-url",
    ),
    ("must include \"openid\"", "portal-svc-openid-scope"),
    ("must be at most 1 MB", "portal-svc-metadata-size"),
    (
        "an organization cannot be its own parent",
        "portal-svc-own-parent",
    ),
    (
        "an organization cannot be its own ancestor",
        "portal-svc-own-ancestor",
    ),
    (
        "the organization is not linked to this app",
        "portal-svc-not-linked",
    ),
    (
        "role group {group} is not allowed for the parent organization on this app",
        "portal-svc-group-parent",
    ),
    (
        "role group {group} does not exist in app {app}",
        "portal-svc-group-missing",
    ),
    (
        "role group {group} is not a role group of app {app}",
        "portal-svc-group-other-app",
    ),
    (
        "role group {group} is still allowed for the child organization {child}; remove it there first",
        "portal-svc-group-child",
    ),
    (
        "member {member} still has role \"{role}\", which would fall outside the allowed role groups; change their roles first",
        "portal-svc-member-role-outside",
    ),
    (
        "role \"{role}\" is not in the role groups allowed for this organization",
        "portal-svc-role-not-allowed",
    ),
    (
        "role \"{role}\" is not a role of app {app}",
        "portal-svc-role-not-of-app",
    ),
    ("at most 500 roles per member", "portal-svc-roles-max"),
    ("limit must be between 1 and 500.", "portal-svc-limit"),
    (
        "The object was changed by someone else (version mismatch); reload it and retry.",
        "portal-svc-version-conflict",
    ),
    (
        "Another organization has already verified this domain.",
        "portal-svc-domain-taken",
    ),
    (
        "This person has a pending invitation to this organization; resend it instead.",
        "portal-svc-already-invited",
    ),
    (
        "The organization is already linked to this app.",
        "portal-svc-already-linked",
    ),
    (
        "A user with this email already exists.",
        "portal-svc-user-exists",
    ),
    (
        "The user is already a member of this organization.",
        "portal-svc-already-member",
    ),
    (
        "An app with this client_id already exists.",
        "portal-svc-client-id-exists",
    ),
    (
        "An app with this id already exists.",
        "portal-svc-app-id-exists",
    ),
    (
        "A connection with this id already exists.",
        "portal-svc-connection-exists",
    ),
    (
        "The child organization {child} is still linked to this app; unlink it first.",
        "portal-svc-child-linked",
    ),
    (
        "The auth policy of the link to app {app} still uses this connection; change it first.",
        "portal-svc-connection-in-use",
    ),
    (
        "Only an org_admin may grant org_admin or change an org admin's membership.",
        "portal-svc-only-org-admin",
    ),
    (
        "Only the operator may change an organization's {field}.",
        "portal-svc-only-operator-field",
    ),
    (
        "Only the operator may do this (app links, allowed role groups, adding an existing user; org admins invite people).",
        "portal-svc-only-operator",
    ),
    (
        "the kind of a connection cannot change; create a new connection",
        "portal-svc-kind-change",
    ),
    (
        "A {what} with this value already exists.",
        "portal-svc-duplicate",
    ),
    (
        "The object is still in use by {what}; remove those first or use ?cascade=true.",
        "portal-svc-in-use-cascade",
    ),
    ("The object is still in use by {what}.", "portal-svc-in-use"),
    (
        "The role is still part of role group(s) {groups}; remove it there first.",
        "portal-svc-role-in-groups",
    ),
    (
        "Give your IdP our metadata: {entity} (entity id; ACS {acs}).",
        "portal-chk-sp-metadata",
    ),
    (
        "The IdP metadata loads: entity id {entity}.",
        "portal-chk-metadata-loads",
    ),
    (
        "Signing certificate {subject} (SHA-256 {fingerprint}) has expired; its signatures are still accepted because accept_expired_certs is on.",
        "portal-chk-cert-expired-accepted",
    ),
    (
        "Signing certificate {subject} (SHA-256 {fingerprint}) has expired: responses signed with it are refused. Ask the IdP for a new certificate, or set accept_expired_certs.",
        "portal-chk-cert-expired",
    ),
    (
        "Signing certificate {subject} (SHA-256 {fingerprint}) expires in {days} days: plan the rollover.",
        "portal-chk-cert-expires-soon",
    ),
    (
        "Signing certificate {subject} (SHA-256 {fingerprint}) is valid for {days} more days.",
        "portal-chk-cert-valid",
    ),
    (
        "Signing certificate {subject} (SHA-256 {fingerprint}): expiry unreadable.",
        "portal-chk-cert-unreadable",
    ),
    (
        "Sign-in requests go to {url} (HTTP-Redirect).",
        "portal-chk-sso-redirect",
    ),
    (
        "Sign-in requests go to {url} (HTTP-POST).",
        "portal-chk-sso-post",
    ),
    ("No SSO endpoint.", "portal-chk-no-sso"),
    (
        "The last metadata refresh failed ({problem}); the last good copy is in use.",
        "portal-chk-refresh-failed",
    ),
    (
        "Metadata pinned; last successful fetch at unix time {time}.",
        "portal-chk-pinned-at",
    ),
    ("Metadata pinned.", "portal-chk-pinned"),
    (
        "The SAML connection cannot be activated: {problem}",
        "portal-chk-saml-not-activatable",
    ),
    (
        "The issuer {issuer} is not a valid URL.",
        "portal-chk-issuer-invalid",
    ),
    (
        "Fetched the discovery document from {url}.",
        "portal-chk-discovery-fetched",
    ),
    (
        "Could not fetch the discovery document from {url}: {problem}.",
        "portal-chk-discovery-fetch-failed",
    ),
    (
        "The document's issuer is exactly the configured issuer.",
        "portal-chk-issuer-match",
    ),
    (
        "The document says its issuer is {found}, but the connection is configured with {expected}. They must be identical (check the trailing slash and the scheme).",
        "portal-chk-issuer-mismatch",
    ),
    (
        "The discovery document is not usable: {problem}.",
        "portal-chk-discovery-unusable",
    ),
    (
        "Authorization endpoint {authorize}, token endpoint {token}, JWKS {jwks}, userinfo endpoint {userinfo}.",
        "portal-chk-endpoints-userinfo",
    ),
    (
        "Authorization endpoint {authorize}, token endpoint {token}, JWKS {jwks}.",
        "portal-chk-endpoints",
    ),
    (
        "The identity provider supports the authorization code flow.",
        "portal-chk-code-flow",
    ),
    (
        "The identity provider does not list response type \"code\"; Lobby needs the authorization code flow.",
        "portal-chk-no-code-flow",
    ),
    (
        "The identity provider signs ID tokens with {provider}, none of which this connection allows ({allowed}).",
        "portal-chk-algs-none",
    ),
    ("ID tokens can be signed with {algs}.", "portal-chk-algs"),
    (
        "The connection authenticates to the token endpoint with {method}, but the identity provider supports only {supported}.",
        "portal-chk-auth-method-unsupported",
    ),
    (
        "Token endpoint authentication: {method}.",
        "portal-chk-auth-method",
    ),
    (
        "The client secret is stored and can be read.",
        "portal-chk-secret-ok",
    ),
    (
        "The stored client secret cannot be read (was the secret key changed?). Set the client secret again.",
        "portal-chk-secret-unreadable",
    ),
    (
        "Could not fetch the signing keys from {url}: {problem}.",
        "portal-chk-jwks-fetch-failed",
    ),
    (
        "Fetched {count} signing key(s), {usable} usable with the allowed algorithms.",
        "portal-chk-jwks",
    ),
    (
        "The key set has no key usable with the allowed algorithms.",
        "portal-chk-jwks-none-usable",
    ),
    (
        "The signing keys are not usable: {problem}.",
        "portal-chk-jwks-unusable",
    ),
    (
        "Password connections have nothing to fetch.",
        "portal-chk-password",
    ),
];

/// The variable parts of `text` if it has the shape of `pattern` (`{name}` matches one or more
/// characters; the literal text around it must match exactly).
fn captures<'a>(pattern: &'a str, text: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut pat = pattern;
    loop {
        match pat.find('{') {
            None => return (rest == pat).then_some(out),
            Some(open) => {
                let lit = &pat[..open];
                rest = rest.strip_prefix(lit)?;
                let close = pat[open..].find('}')? + open;
                let name = &pat[open + 1..close];
                pat = &pat[close + 1..];
                // The last variable takes everything up to the closing literal; another one
                // the shortest value up to the next literal.
                let end = match pat.find('{') {
                    None => rest
                        .len()
                        .checked_sub(pat.len())
                        .filter(|_| rest.ends_with(pat))?,
                    Some(0) => return None,
                    Some(n) => rest.get(1..)?.find(&pat[..n])? + 1,
                };
                if end == 0 {
                    return None;
                }
                out.push((name, &rest[..end]));
                rest = &rest[end..];
            }
        }
    }
}

/// `english` (a sentence or fragment of the service or domain layer) in `tr`'s language, if it
/// is one the table knows.
pub fn translate(tr: Tr, english: &str) -> Option<String> {
    let english = english.trim();
    TABLE.iter().find_map(|(pattern, key)| {
        let args = captures(pattern, english)?;
        let args: Vec<(&str, &dyn std::fmt::Display)> = args
            .iter()
            .map(|(n, v)| (*n, v as &dyn std::fmt::Display))
            .collect();
        Some(tr.args(key, &args))
    })
}

/// A service sentence shown as it is (a conflict, a right the person lacks): translated when
/// known, else the English.
pub fn localize(english: &str) -> String {
    translate(super::view::current_tr(), english).unwrap_or_else(|| english.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, t};

    /// The English catalog says exactly what the service says, so English pages do not change
    /// and the table matches the service's words.
    #[test]
    fn the_table_matches_the_english_catalog() {
        for (pattern, key) in TABLE {
            let names: Vec<&str> = pattern
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n))
                .collect();
            let values: Vec<String> = names.iter().map(|n| format!("{{{n}}}")).collect();
            let args: Vec<(&str, &dyn std::fmt::Display)> = names
                .iter()
                .zip(&values)
                .map(|(n, v)| (*n, v as &dyn std::fmt::Display))
                .collect();
            assert_eq!(&t(Lang::En, key, &args), pattern, "{key}");
            assert!(crate::i18n::has_message(Lang::De, key), "{key}");
        }
    }

    #[test]
    fn sentences_with_variable_parts_are_translated() {
        let de = Tr::new(Lang::De);
        assert_eq!(
            translate(
                de,
                "role group sales is not allowed for the parent organization on this app"
            )
            .unwrap(),
            "die Rollengruppe sales ist für die übergeordnete Organisation bei dieser App nicht erlaubt"
        );
        assert_eq!(
            translate(
                de,
                "member usr_1 still has role \"a b\", which would fall outside the allowed role groups; change their roles first"
            )
            .unwrap(),
            "das Mitglied usr_1 hat noch die Rolle „a b“, die außerhalb der erlaubten Rollengruppen läge; ändern Sie zuerst seine Rollen"
        );
        assert_eq!(
            translate(Tr::new(Lang::En), "must be a color like #1a2b3c").unwrap(),
            "must be a color like #1a2b3c"
        );
        assert_eq!(
            translate(
                de,
                "Could not fetch the discovery document from https://idp.test/.well-known/openid-configuration: error sending request for url (https://idp.test/x)."
            )
            .unwrap(),
            "Das Discovery-Dokument konnte nicht von https://idp.test/.well-known/openid-configuration abgerufen werden: error sending request for url (https://idp.test/x)."
        );
        assert!(
            translate(de, "Authorization endpoint https://a/x, token endpoint https://a/t, JWKS https://a/j, userinfo endpoint https://a/u.")
                .unwrap()
                .ends_with("Userinfo-Endpunkt https://a/u.")
        );
        assert_eq!(translate(de, "something new"), None);
        assert_eq!(translate(de, "must be a color like #1a2b3c and more"), None);
    }
}
