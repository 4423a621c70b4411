//! The Oracle engine: the `oracle` crate (ODPI-C) on blocking threads, the same shape as the
//! SQL Server one. What needs no Oracle software (the connection URL) is
//! always built; the session itself comes with the `oracle` cargo feature.

#[cfg(feature = "oracle")]
mod session;

#[cfg(feature = "oracle")]
pub use session::Oracle;

use crate::engine::Error;

/// The platform's schema when the URL names none (the runbook's `CURRENT_SCHEMA = OSADMIN`).
pub const DEFAULT_SCHEMA: &str = "OSADMIN";

/// Where the password comes from when the URL holds none.
pub const PASSWORD_VARIABLE: &str = "POSTCLONE_PASSWORD";

/// A parsed `oracle://user[:password]@host[:port]/service[?schema=OSADMIN]`.
#[derive(Clone, PartialEq, Eq)]
pub struct OracleUrl {
    /// The user to log in as.
    pub user: String,
    /// The password, from the URL or `POSTCLONE_PASSWORD`.
    pub password: Option<String>,
    /// Host name or address.
    pub host: String,
    /// Listener port (1521 unless given).
    pub port: u16,
    /// Service name.
    pub service: String,
    /// The platform's schema (`OSADMIN` unless given), upper-cased.
    pub schema: String,
}

impl std::fmt::Debug for OracleUrl {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.describe())
    }
}

impl OracleUrl {
    /// Parses the URL; `password` is `POSTCLONE_PASSWORD`'s value, used when the URL has none.
    ///
    /// # Errors
    /// A URL without user, host or service, a bad port or schema. The message never repeats
    /// the URL (it may hold a password).
    pub fn parse(url: &str, password: Option<String>) -> Result<OracleUrl, Error> {
        let invalid = |message: &str| Error::InvalidConnection {
            message: format!("{message} (expected oracle://user@host:port/service?schema=OSADMIN)"),
        };
        let rest = url
            .strip_prefix("oracle://")
            .ok_or_else(|| invalid("an Oracle connection starts with oracle://"))?;
        let (credentials, rest) = rest
            .rsplit_once('@')
            .ok_or_else(|| invalid("no user before @"))?;
        let (user, inline) = match credentials.split_once(':') {
            Some((u, p)) => (u, Some(p.to_string())),
            None => (credentials, None),
        };
        if user.is_empty() {
            return Err(invalid("no user before @"));
        }
        let (address, tail) = rest
            .split_once('/')
            .ok_or_else(|| invalid("no /service after the host"))?;
        let (service, query) = match tail.split_once('?') {
            Some((s, q)) => (s, Some(q)),
            None => (tail, None),
        };
        if service.is_empty() {
            return Err(invalid("no service name after /"));
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| invalid("the port is not a number"))?,
            ),
            None => (address, 1521),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let mut schema = DEFAULT_SCHEMA.to_string();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some(("schema", s))
                    if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#')) =>
                {
                    schema = s.to_ascii_uppercase();
                }
                Some(("schema", _)) => return Err(invalid("the schema is not an Oracle name")),
                _ => return Err(invalid("the only URL option is schema=NAME")),
            }
        }
        Ok(OracleUrl {
            user: user.to_string(),
            password: inline.or(password),
            host: host.to_string(),
            port,
            service: service.to_string(),
            schema,
        })
    }

    /// `host:port/service`, as Oracle's easy connect syntax takes it.
    #[must_use]
    pub fn connect_string(&self) -> String {
        format!("//{}:{}/{}", self.host, self.port, self.service)
    }

    /// What errors say: user, host, port, service and schema; no password.
    #[must_use]
    pub fn describe(&self) -> String {
        format!(
            "oracle://{}@{}:{}/{} (schema {})",
            self.user, self.host, self.port, self.service, self.schema
        )
    }
}

/// Turns a client error into one that says what to do: Oracle's client library missing, no
/// listener on the port, or the database's own message.
#[must_use]
pub fn explain(message: &str) -> String {
    if message.contains("DPI-1047") {
        format!(
            "the Oracle client library (libclntsh) cannot be loaded: install Oracle Instant Client \
             and add its directory to LD_LIBRARY_PATH (for example `pip install pyoracleclient==0.0.1` \
             ships Instant Client 19.3 under site-packages/pyoracleclient); the client said: {message}"
        )
    } else if message.contains("ORA-12541") || message.contains("TNS:no listener") {
        format!("no Oracle listener answers at that host and port: {message}")
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// User, host, port, service and schema; password from the URL or the variable; no
    /// password in what errors show.
    #[test]
    fn urls() {
        let u = OracleUrl::parse(
            "oracle://postclone@db1.example.com:1522/PREPROD?schema=osadmin_pp",
            Some("from-env".into()),
        )
        .unwrap();
        assert_eq!(u.user, "postclone");
        assert_eq!(u.connect_string(), "//db1.example.com:1522/PREPROD");
        assert_eq!(u.schema, "OSADMIN_PP");
        assert_eq!(u.password.as_deref(), Some("from-env"));
        let inline = OracleUrl::parse("oracle://u:s3cret-pw@h/S", None).unwrap();
        assert_eq!(inline.password.as_deref(), Some("s3cret-pw"));
        assert_eq!(inline.port, 1521);
        assert_eq!(inline.schema, DEFAULT_SCHEMA);
        assert!(!format!("{inline:?}").contains("s3cret"));
        for bad in [
            "oracle://h:1521/S",
            "oracle://u@h:port/S",
            "oracle://u@h:1521",
            "oracle://u@h/S?schema=x;drop",
            "oracle://u@h/S?user=x",
        ] {
            let e = OracleUrl::parse(bad, None).unwrap_err().to_string();
            assert!(e.contains("expected oracle://"), "{bad}: {e}");
        }
    }

    /// The two failures users meet first are explained.
    #[test]
    fn explained_errors() {
        assert!(
            explain("DPI-1047: Cannot locate a 64-bit Oracle Client library")
                .contains("LD_LIBRARY_PATH")
        );
        assert!(explain("ORA-12541: TNS:no listener").starts_with("no Oracle listener"));
    }
}
