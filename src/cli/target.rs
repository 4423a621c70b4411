//! Choosing and opening the target database: the connection override, the spec's connection
//! with `${env:..}`, and the engine that matches it.

use std::path::Path;

use super::Error;
use crate::engine::any::AnyEngine;
use crate::engine::sqlserver::SqlServer;
use crate::engine::{self, Connection};
use crate::spec;
use crate::spec::InterpolationError;
use crate::state::desired::{Desired, EngineKind};

/// Why no connection can be used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Nothing names a connection.
    #[error("no connection: set `connection:` in the spec, pass --connection, or set POSTCLONE_CONNECTION")]
    Missing,
    /// A journal without the spec that wrote it, and no connection given.
    #[error("the journal names no spec: pass --spec, --connection or set POSTCLONE_CONNECTION")]
    JournalWithoutSpec,
    /// The connection is a reference (`env:`, `file:`, `exec:`) that cannot be read.
    #[error("the connection cannot be read")]
    Reference(#[source] crate::secret::SecretError),
    /// `POSTCLONE_SECRETS=references` and the spec writes a password in clear.
    #[error("the spec's connection holds a password in clear, and {}=references refuses it: write `connection: exec:...` (or env:NAME, file:PATH) to read it from where it is kept, or ${{env:NAME}} for the password", crate::secret::POLICY_VARIABLE)]
    PlainSecret,
    /// The spec's `${env:...}` cannot be replaced.
    #[error("the spec's connection cannot be used")]
    Interpolation(#[source] InterpolationError),
    /// The connection is for the other engine.
    #[error("the spec's engine is {spec}, but the connection is for {connection}")]
    EngineMismatch {
        /// The spec's engine.
        spec: &'static str,
        /// The connection's.
        connection: &'static str,
    },
}

/// The connection to use: `--connection` / `POSTCLONE_CONNECTION` (relative paths from the
/// working directory), else `declared`, the spec's (relative paths from the spec's directory).
/// Either may be a reference (`env:NAME`, `file:PATH`, `exec:COMMAND ARGS...`) to where the
/// connection string is kept, read now.
pub fn connection(
    desired: &Desired,
    declared: Option<&str>,
    cli: Option<&str>,
) -> Result<Connection, Error> {
    let read = |text: &str, base: &Path| {
        crate::secret::resolve(text, base).map_err(ConnectionError::Reference)
    };
    let connection = match (cli, declared) {
        (Some(text), _) => Connection::parse(read(text, Path::new("."))?.expose(), Path::new(".")),
        (None, Some(text)) if crate::secret::Reference::parse(text).is_some() => {
            crate::secret::check_written(text, "the spec's connection")
                .map_err(ConnectionError::Reference)?;
            Connection::parse(read(text, &desired.base_dir)?.expose(), &desired.base_dir)
        }
        (None, Some(text)) => {
            if crate::secret::references_only() && crate::secret::writes_password_in_clear(text) {
                return Err(ConnectionError::PlainSecret.into());
            }
            let text = spec::interpolate(text, |name| std::env::var(name).ok())
                .map_err(ConnectionError::Interpolation)?;
            Connection::parse(&text, &desired.base_dir)
        }
        (None, None) => return Err(ConnectionError::Missing.into()),
    };
    match (desired.engine, &connection) {
        (EngineKind::Oracle, Connection::SqlServer(_) | Connection::Embedded(_)) => {
            Err(ConnectionError::EngineMismatch {
                spec: "oracle",
                connection: "SQL Server",
            }
            .into())
        }
        (EngineKind::Sqlserver, Connection::Oracle(_)) => Err(ConnectionError::EngineMismatch {
            spec: "sqlserver",
            connection: "Oracle (an oracle:// URL)",
        }
        .into()),
        _ => Ok(connection),
    }
}

/// The host name the connection goes to, for the guard's `forbid_hosts`.
#[must_use]
pub fn host(connection: &Connection) -> Option<String> {
    match connection {
        Connection::SqlServer(ado) => engine::sqlserver::connect::host(ado),
        Connection::Embedded(_) | Connection::Oracle(_) => None,
    }
}

/// Opens the engine for `connection`.
pub async fn open(desired: &Desired, connection: &Connection) -> Result<AnyEngine, Error> {
    let _ = desired;
    open_engine(connection).await
}

/// Opens the engine for `connection`, without a spec.
pub async fn open_engine(connection: &Connection) -> Result<AnyEngine, Error> {
    let sqlserver = |e: SqlServer| AnyEngine::SqlServer(Box::new(e));
    Ok(match connection {
        Connection::SqlServer(ado) => sqlserver(SqlServer::connect(ado).await?),
        #[cfg(feature = "embedded")]
        Connection::Embedded(path) => sqlserver(SqlServer::embedded(path).await?),
        #[cfg(not(feature = "embedded"))]
        Connection::Embedded(_) => {
            return Err(engine::Error::Unsupported {
                what: "the embedded engine (build with the `embedded` feature)".into(),
            }
            .into())
        }
        #[cfg(feature = "oracle")]
        Connection::Oracle(url) => {
            AnyEngine::Oracle(Box::new(engine::oracle::Oracle::connect(url).await?))
        }
        #[cfg(not(feature = "oracle"))]
        Connection::Oracle(_) => {
            return Err(engine::Error::Unsupported {
                what: "the Oracle engine (this build left out the default `oracle` feature; build postclone with its default features)".into(),
            }
            .into())
        }
    })
}

/// The runtime commands run on: one thread is enough, and the embedded engine shares it.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
