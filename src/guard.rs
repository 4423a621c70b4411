//! The guard: before any write, the target the server reports must be the one the spec is for.

use crate::state::desired::{host_is, Guard, Production};
use crate::state::observed::Target;

/// Why the guard refused the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// `apply` needs to know which database the spec is for.
    #[error(
        "the spec has no `guard.database`; apply needs it to know which database the spec is for"
    )]
    MissingDatabase,
    /// The server reports another database.
    #[error("the spec is for database {expected}, but the server reports database {actual}")]
    WrongDatabase {
        /// From the spec.
        expected: String,
        /// From the server.
        actual: String,
    },
    /// A journal is restored only on the server it was written on.
    #[error(
        "the journal was written on server {expected}, but this connection reaches server {actual}"
    )]
    WrongServer {
        /// From the journal.
        expected: String,
        /// From the server.
        actual: String,
    },
    /// The database is one the spec forbids.
    #[error("database {database} is forbidden by the spec's guard (forbid_databases)")]
    ForbiddenDatabase {
        /// The forbidden name the server reported.
        database: String,
    },
    /// The platform's front-end list names a forbidden host: this may be production itself.
    #[error("the platform's front-end list ({list}) names {host}, a forbidden host: this may be the live environment; if this clone is expected to list it, add it to guard.allow_front_ends")]
    ForbiddenFrontEnd {
        /// The front-end.
        host: String,
        /// The list's table.
        list: String,
    },
    /// The server is one the spec forbids.
    #[error("server {host} is forbidden by the spec's guard (forbid_hosts); the server reports itself as {reported}")]
    ForbiddenHost {
        /// The forbidden host that matched.
        host: String,
        /// What the server reported (or the host connected to).
        reported: String,
    },
}

/// Checks `target` (and the host connected to) against the guard and production's identity.
///
/// Names compare case-insensitively, as SQL Server and Oracle compare unquoted names.
/// Production's hosts are not compared with the front-end list: a fresh clone lists
/// production's front-ends until the profile empties the list.
///
/// # Errors
/// The first rule the target breaks.
pub fn check(
    guard: &Guard,
    production: &Production,
    target: &Target,
    connected_host: Option<&str>,
) -> Result<(), GuardError> {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let expected = guard
        .database
        .as_deref()
        .ok_or(GuardError::MissingDatabase)?;
    if let Some(forbidden) = guard
        .forbid_databases
        .iter()
        .chain(&production.databases)
        .find(|d| same(d, &target.database))
    {
        return Err(GuardError::ForbiddenDatabase {
            database: forbidden.clone(),
        });
    }
    let hosts = std::iter::once(target.server.as_str()).chain(connected_host);
    for reported in hosts {
        if let Some(host) = guard.forbid_hosts.iter().find(|h| host_is(h, reported)) {
            return Err(GuardError::ForbiddenHost {
                host: host.clone(),
                reported: reported.to_string(),
            });
        }
        // Production's hosts: a server that is one of them, or in one of its domains.
        if let Some(host) = production.hosts.iter().find(|p| p.names_server(reported)) {
            return Err(GuardError::ForbiddenHost {
                host: host.to_string(),
                reported: reported.to_string(),
            });
        }
    }
    for front_end in &target.forbidden_front_ends {
        if guard.forbids_front_end(front_end, production) {
            return Err(GuardError::ForbiddenFrontEnd {
                host: front_end.clone(),
                list: target
                    .front_end_list
                    .as_ref()
                    .map_or_else(|| "front-end list".into(), |t| t.name.clone()),
            });
        }
    }
    if !same(expected, &target.database) {
        return Err(GuardError::WrongDatabase {
            expected: expected.to_string(),
            actual: target.database.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard {
            database: Some("OS_PREPROD".into()),
            forbid_databases: vec!["OS_PROD".into()],
            forbid_hosts: vec!["prod-sql01".into()],
            allow_front_ends: vec![],
        }
    }

    fn target(server: &str, database: &str) -> Target {
        Target {
            server: server.into(),
            database: database.into(),
            forbidden_front_ends: vec![],
            front_end_list: None,
        }
    }

    /// The expected database on an allowed server passes, whatever the case.
    #[test]
    fn expected_database_passes() {
        assert_eq!(
            check(
                &guard(),
                &Production::default(),
                &target("preprod-sql", "os_preprod"),
                None
            ),
            Ok(())
        );
    }

    /// Each rule refuses, naming both values.
    #[test]
    fn refusals() {
        let g = guard();
        let e = check(&g, &Production::default(), &target("x", "OS_QA"), None).unwrap_err();
        assert!(e.to_string().contains("OS_PREPROD") && e.to_string().contains("OS_QA"));
        assert!(matches!(
            check(&g, &Production::default(), &target("x", "OS_PROD"), None),
            Err(GuardError::ForbiddenDatabase { .. })
        ));
        assert!(matches!(
            check(
                &g,
                &Production::default(),
                &target("PROD-SQL01\\OUTSYSTEMS", "OS_PREPROD"),
                None
            ),
            Err(GuardError::ForbiddenHost { .. })
        ));
        assert!(matches!(
            check(
                &g,
                &Production::default(),
                &target("x", "OS_PREPROD"),
                Some("prod-sql01.corp.example")
            ),
            Err(GuardError::ForbiddenHost { .. })
        ));
        assert_eq!(
            check(
                &Guard::default(),
                &Production::default(),
                &target("x", "y"),
                None
            ),
            Err(GuardError::MissingDatabase)
        );
        let mut live = target("x", "OS_PREPROD");
        live.forbidden_front_ends = vec!["prod-fe01".into(), "PROD-SQL01".into()];
        assert!(matches!(
            check(&g, &Production::default(), &live, None),
            Err(GuardError::ForbiddenFrontEnd { host, .. }) if host == "PROD-SQL01"
        ));
        let mut expected = g.clone();
        expected.allow_front_ends = vec!["prod-sql01".into()];
        assert_eq!(
            check(&expected, &Production::default(), &live, None),
            Ok(())
        );
    }

    /// A forbidden domain forbids its hosts, a trailing dot or another case changes nothing,
    /// and production's hosts forbid the front-ends that are theirs. See: issue 27
    #[test]
    fn front_ends_in_a_forbidden_domain_are_refused_issue_27() {
        let g = Guard {
            forbid_hosts: vec!["prod.example.com".into(), "prod-sql01".into()],
            ..guard()
        };
        let none = Production::default();
        for host in [
            "fe1.prod.example.com",
            "FE1.PROD.EXAMPLE.COM.",
            "prod.example.com.",
            "prod-sql01.corp.local",
            "PROD-SQL01\\INST",
        ] {
            assert!(g.forbids_front_end(host, &none), "{host}");
        }
        for host in ["preprod.example.com", "notprod.example.com", "prod-sql011"] {
            assert!(!g.forbids_front_end(host, &none), "{host}");
        }
        let production = Production {
            hosts: vec![crate::state::host::HostPattern::parse("live.example.net").unwrap()],
            databases: vec![],
        };
        assert!(guard().forbids_front_end("fe2.live.example.net", &production));
        let allowed = Guard {
            allow_front_ends: vec!["FE1.prod.example.com.".into()],
            ..g.clone()
        };
        assert!(!allowed.forbids_front_end("fe1.prod.example.com", &none));
        assert!(matches!(
            check(
                &g,
                &none,
                &target("db1.prod.example.com.", "OS_PREPROD"),
                None
            ),
            Err(GuardError::ForbiddenHost { .. })
        ));
    }

    /// `production.hosts` refuses what the same name in `forbid_hosts` refuses: a front-end or
    /// server written in another case, as a full name, with an instance or a port.
    /// See: issue 33
    #[test]
    fn production_hosts_refuse_what_forbid_hosts_refuses_issue_33() {
        let production = Production {
            hosts: vec![crate::state::host::HostPattern::parse("prod-sql01").unwrap()],
            databases: vec![],
        };
        let open = Guard {
            forbid_hosts: vec![],
            ..guard()
        };
        let as_forbidden = Guard {
            forbid_hosts: vec!["prod-sql01".into()],
            ..open.clone()
        };
        let none = Production::default();
        for name in [
            "PROD-SQL01.corp.example.com",
            "prod-sql01:1433",
            "PROD-SQL01\\INST",
        ] {
            assert!(as_forbidden.forbids_front_end(name, &none), "{name}");
            assert!(open.forbids_front_end(name, &production), "{name}");
            assert!(
                matches!(
                    check(&open, &production, &target(name, "OS_PREPROD"), None),
                    Err(GuardError::ForbiddenHost { .. })
                ),
                "{name}"
            );
        }
    }
}
