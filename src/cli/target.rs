//! Choosing and opening the target database: the connection override, the spec's connection
//! with `${env:..}`, and the engine that matches it.

use std::path::Path;

use super::Error;
use crate::engine::any::AnyEngine;
use crate::engine::sqlserver::SqlServer;
use crate::engine::{self, Connection};
use crate::spec;
use crate::state::desired::{Desired, EngineKind};

/// The connection to use: `--connection` / `POSTCLONE_CONNECTION` (relative paths from the
/// working directory), else the spec's (relative paths from the spec's directory).
pub fn connection(desired: &Desired, cli: Option<&str>) -> Result<Connection, Error> {
    let connection = match (cli, &desired.connection) {
        (Some(text), _) => Connection::parse(text, Path::new(".")),
        (None, Some(text)) => {
            let text = spec::interpolate(text, |name| std::env::var(name).ok())
                .map_err(|message| Error::Connection { message: format!("the spec's connection: {message}") })?;
            Connection::parse(&text, &desired.base_dir)
        }
        (None, None) => {
            return Err(Error::Connection {
                message: "no connection: set `connection:` in the spec, pass --connection, or set POSTCLONE_CONNECTION".into(),
            })
        }
    };
    match (desired.engine, &connection) {
        (EngineKind::Oracle, Connection::SqlServer(_) | Connection::Embedded(_)) => {
            Err(Error::Connection {
                message: "the spec's engine is oracle, but the connection is for SQL Server".into(),
            })
        }
        (EngineKind::Sqlserver, Connection::Oracle(_)) => Err(Error::Connection {
            message: "the spec's engine is sqlserver, but the connection is an oracle:// URL"
                .into(),
        }),
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
