//! Host names and addresses in text, matched by host, never by substring: `prod.example.com`
//! names `https://ERP.PROD.EXAMPLE.COM:8443/x` and `support@prod.example.com`, never
//! `preprod.example.com`, `notprod.example.com` or `prod.example.com.evil.example.net`; an IP
//! address names itself only (`10.20.30.40`, never `110.20.30.40`).
//!
//! A host in text is a run of letters, digits, `.`, `-` and `_`; anything else (a scheme, a
//! port, a path, user info, an email's local part, quotes, spaces) ends it. A pattern names a
//! host when it is that host or one of its subdomains, in any case.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A host name, a domain (which names its subdomains too) or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPattern(Pattern);

// Written as one string, so documented as one.
impl JsonSchema for HostPattern {
    fn schema_name() -> String {
        "HostPattern".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        crate::state::text_schema(
            "A host name, a domain (which names its subdomains too) or an IP address, without scheme, port or path.",
            r"^[^/:@\s]+$|^[0-9A-Fa-f:.]+$",
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Pattern {
    /// Lower-case labels, `prod.example.com`.
    Name(String),
    /// An IP address: names itself only.
    Ip(IpAddr),
}

/// A pattern that is not a host name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a host name, a domain or an IP address (write `prod.example.com` or `10.20.30.40`, without scheme, port or path)")]
pub struct InvalidHost {
    /// As written.
    pub text: String,
}

impl TryFrom<String> for HostPattern {
    type Error = InvalidHost;

    fn try_from(text: String) -> Result<HostPattern, InvalidHost> {
        HostPattern::parse(&text).ok_or(InvalidHost { text })
    }
}

impl From<HostPattern> for String {
    fn from(p: HostPattern) -> String {
        p.to_string()
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Pattern::Name(n) => f.write_str(n),
            Pattern::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// One place a pattern names a host in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMatch {
    /// Byte range of the whole host in the text.
    pub host: std::ops::Range<usize>,
    /// Byte range of the part the pattern names (the host itself, or its domain part).
    pub named: std::ops::Range<usize>,
}

impl HostPattern {
    /// Parses a pattern: a host name or domain (labels of letters, digits, `-`, `_`) or an IP
    /// address; a trailing dot is allowed.
    #[must_use]
    pub fn parse(text: &str) -> Option<HostPattern> {
        let text = text.trim();
        if let Ok(ip) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Some(HostPattern(Pattern::Ip(ip)));
        }
        let name = text.trim_end_matches('.').to_ascii_lowercase();
        let labels_ok = !name.is_empty()
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        labels_ok.then_some(HostPattern(Pattern::Name(name)))
    }

    /// The text a database query can look for first (lower case): every value this pattern
    /// names contains it, whatever its case.
    #[must_use]
    pub fn needle(&self) -> String {
        self.to_string()
    }

    /// Every host in `text` this pattern names, in order.
    #[must_use]
    pub fn find(&self, text: &str) -> Vec<HostMatch> {
        match &self.0 {
            Pattern::Name(name) => tokens(text, is_host_byte)
                .filter_map(|r| {
                    let token = &text[r.clone()];
                    let host = token.trim_end_matches('.');
                    let end = r.start + host.len();
                    if host.eq_ignore_ascii_case(name) {
                        return Some(HostMatch {
                            host: r.start..end,
                            named: r.start..end,
                        });
                    }
                    let suffix = host.len().checked_sub(name.len() + 1)?;
                    let tail = host.get(suffix..)?;
                    (tail.as_bytes().first() == Some(&b'.') && tail[1..].eq_ignore_ascii_case(name))
                        .then(|| HostMatch {
                            host: r.start..end,
                            named: r.start + suffix + 1..end,
                        })
                })
                .collect(),
            Pattern::Ip(IpAddr::V4(ip)) => tokens(text, |b| b.is_ascii_digit() || b == b'.')
                .filter(|r| {
                    text[r.clone()]
                        .trim_end_matches('.')
                        .parse::<std::net::Ipv4Addr>()
                        == Ok(*ip)
                        && !host_byte_around(text, r)
                })
                .map(|r| {
                    let end = r.start + text[r.clone()].trim_end_matches('.').len();
                    HostMatch {
                        host: r.start..end,
                        named: r.start..end,
                    }
                })
                .collect(),
            Pattern::Ip(IpAddr::V6(ip)) => {
                tokens(text, |b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                    .filter(|r| text[r.clone()].parse::<Ipv6Addr>() == Ok(*ip))
                    .map(|r| HostMatch {
                        host: r.clone(),
                        named: r,
                    })
                    .collect()
            }
        }
    }

    /// Whether `reported`, a server's or front-end's name as a server or the platform writes
    /// it (`PROD-SQL01.corp.example.com`, `prod-sql01\\INST`, `prod-sql01,1433`), is this
    /// host or in its domain: the comparison `forbid_hosts` makes, so that both lists refuse
    /// the same names.
    #[must_use]
    pub fn names_server(&self, reported: &str) -> bool {
        match &self.0 {
            Pattern::Name(name) => host_is(name, reported),
            Pattern::Ip(ip) => {
                let bare = server_part(reported);
                bare.trim_matches(['[', ']']).parse::<IpAddr>().ok() == Some(*ip)
            }
        }
    }

    /// Whether this pattern names a host in `text`.
    #[must_use]
    pub fn names(&self, text: &str) -> bool {
        !self.find(text).is_empty()
    }

    /// `text` with every host this pattern names rewritten to `to` (its subdomain labels
    /// kept: `erp.prod.example.com` → `erp.preprod.example.com`); everything else byte for
    /// byte.
    #[must_use]
    pub fn replace<'a>(&self, text: &'a str, to: &str) -> Cow<'a, str> {
        let found = self.find(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + found.len() * to.len());
        let mut at = 0;
        for m in found {
            out.push_str(&text[at..m.named.start]);
            out.push_str(to);
            at = m.named.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }
}

/// The byte ranges of maximal runs of bytes `keep` accepts.
fn tokens(text: &str, keep: fn(u8) -> bool) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && !keep(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let start = i;
        while i < bytes.len() && keep(bytes[i]) {
            i += 1;
        }
        Some(start..i)
    })
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_'
}

/// Whether an address found among digits is part of a longer host name (`10.20.30.40.nip.io`
/// is a name, `a10.20.30.40` too).
fn host_byte_around(text: &str, r: &std::ops::Range<usize>) -> bool {
    let bytes = text.as_bytes();
    let before = r.start.checked_sub(1).map(|i| bytes[i]);
    let token_end = r.start + text[r.clone()].trim_end_matches('.').len();
    let after_dot = bytes.get(token_end).copied() == Some(b'.')
        && bytes
            .get(token_end + 1)
            .is_some_and(|b| b.is_ascii_alphanumeric());
    let after = bytes.get(r.end).copied();
    before.is_some_and(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
        || after.is_some_and(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
        || after_dot
}

/// A name as compared: no blanks, no trailing dot, lower case.
pub(crate) fn normal_host(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The host part of a server name as a connection or a server writes it: no `tcp:` prefix,
/// no instance (`\\INST`), no port (`,1433`, `:1433`).
fn server_part(reported: &str) -> &str {
    let reported = reported.trim();
    let reported = reported
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("tcp:"))
        .map_or(reported, |_| &reported[4..]);
    let bare = reported.split(['\\', ',']).next().unwrap_or(reported);
    // One colon is a port; more are an IPv6 address.
    match bare.split_once(':') {
        Some((host, port)) if !port.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => bare,
    }
}

/// Whether `reported` (a server's or front-end's name, as the server or the platform writes it)
/// is the `forbidden` host or in its domain, in any case, with or without instance or port:
/// `prod.example.com` forbids `fe1.prod.example.com` and `PROD.EXAMPLE.COM.`; `prod-sql01`
/// forbids `prod-sql01.corp.local`, `PROD-SQL01\\INST`, `prod-sql01,1433` and `prod-sql01:1433`;
/// `prod-sql01.corp.local` forbids a server that reports only its short name, `prod-sql01`.
#[must_use]
pub fn host_is(forbidden: &str, reported: &str) -> bool {
    let forbidden = normal_host(forbidden);
    if forbidden.is_empty() {
        return false;
    }
    let bare = normal_host(server_part(reported));
    if bare.is_empty() {
        return false;
    }
    let short = bare.split('.').next().unwrap_or(&bare);
    let is_address = bare.parse::<IpAddr>().is_ok() || forbidden.parse::<IpAddr>().is_ok();
    let forbidden_short = forbidden.split('.').next().unwrap_or(&forbidden);
    bare == forbidden
        || (!is_address && short == forbidden)
        || bare.ends_with(&format!(".{forbidden}"))
        || (!is_address && !bare.contains('.') && bare == forbidden_short)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Production's hosts refuse what `forbid_hosts` refuses: case, FQDN against short name
    /// either way, instances and ports. See: issue 33
    #[test]
    fn production_hosts_compare_as_forbidden_hosts_issue_33() {
        let short = HostPattern::parse("prod-sql01").unwrap();
        let fqdn = HostPattern::parse("prod-sql01.corp.example.com").unwrap();
        let ip = HostPattern::parse("10.20.30.40").unwrap();
        for reported in [
            "PROD-SQL01.corp.example.com",
            "prod-sql01",
            "PROD-SQL01\\INST",
            "prod-sql01,1433",
            "tcp:prod-sql01:1433",
        ] {
            assert!(short.names_server(reported), "{reported}");
            assert!(host_is("prod-sql01", reported), "{reported}");
            assert!(fqdn.names_server(reported), "{reported}");
        }
        for reported in [
            "preprod-sql01",
            "prod-sql011.corp.example.com",
            "prod",
            "sql01",
        ] {
            assert!(!short.names_server(reported), "{reported}");
            assert!(!fqdn.names_server(reported), "{reported}");
        }
        assert!(ip.names_server("10.20.30.40,1433"));
        assert!(!ip.names_server("110.20.30.40"));
        assert!(!host_is("10.20.30.40", "10"));
    }

    fn p(s: &str) -> HostPattern {
        HostPattern::parse(s).unwrap()
    }

    /// The README's table: what a pattern names and what it never names.
    #[test]
    fn names_hosts_never_substrings() {
        let cases: &[(&str, &str, bool)] = &[
            ("prod.example.com", "prod.example.com", true),
            (
                "prod.example.com",
                "https://ERP.PROD.EXAMPLE.COM:8443/x",
                true,
            ),
            ("prod.example.com", "support@prod.example.com", true),
            (
                "prod.example.com",
                "http://user:pw@api.prod.example.com/",
                true,
            ),
            ("prod.example.com", "see prod.example.com.", true),
            (
                "prod.example.com",
                "\"Server=db.prod.example.com;Port=1\"",
                true,
            ),
            ("prod.example.com", "preprod.example.com", false),
            ("prod.example.com", "notprod.example.com", false),
            ("prod.example.com", "https://preprod.example.com/", false),
            (
                "prod.example.com",
                "prod.example.com.evil.example.net",
                false,
            ),
            ("prod.example.com", "prod.example.community", false),
            ("prod.example.com", "my-prod.example.com", false),
            ("prod.example.com", "the prod example, in prose", false),
            ("prod.example.com", "prod_example_com", false),
            ("prod-sql01", "tcp:PROD-SQL01,1433", true),
            ("prod-sql01", "prod-sql01b", false),
            ("10.20.30.40", "http://10.20.30.40:8080/", true),
            ("10.20.30.40", "10.20.30.40", true),
            ("10.20.30.40", "110.20.30.40", false),
            ("10.20.30.40", "10.20.30.401", false),
            ("10.20.30.40", "10.20.30.40.nip.io", false),
            ("10.20.30.40", "version 1.10.20.30.40", false),
            ("2001:db8::1", "http://[2001:db8::1]:80/", true),
            ("2001:db8::1", "2001:db8::10", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(p(pattern).names(text), *expected, "{pattern} in {text}");
        }
    }

    /// A rewrite changes the named part only, keeps subdomains and every other byte.
    #[test]
    fn replaces_hosts_only() {
        let from = p("prod.example.com");
        let cases = [
            (
                "https://notprod.example.com/ https://api.prod.example.com/x",
                "https://notprod.example.com/ https://api.preprod.example.com/x",
            ),
            (
                "prod.example.com.evil.example.net",
                "prod.example.com.evil.example.net",
            ),
            (
                "https://API.PROD.EXAMPLE.COM/y",
                "https://API.preprod.example.com/y",
            ),
            ("preprod.example.com", "preprod.example.com"),
            (
                "mail to support@prod.example.com.",
                "mail to support@preprod.example.com.",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                from.replace(text, "preprod.example.com"),
                expected,
                "{text}"
            );
        }
        assert!(matches!(
            from.replace("nothing here", "x"),
            Cow::Borrowed(_)
        ));
    }

    /// Patterns are hosts, domains or addresses; URLs and prose are refused.
    #[test]
    fn patterns() {
        assert_eq!(p("PROD.Example.com.").to_string(), "prod.example.com");
        assert_eq!(p("[2001:db8::1]").to_string(), "2001:db8::1");
        for bad in [
            "https://prod.example.com",
            "prod.example.com:443",
            "a b",
            "",
            "x..y",
            "@x",
        ] {
            assert!(HostPattern::parse(bad).is_none(), "{bad}");
        }
    }
}
