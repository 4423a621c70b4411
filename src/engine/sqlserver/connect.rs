//! Connecting to SQL Server over TDS with tiberius (rustls; no OpenSSL).
//!
//! Connection strings hold passwords: nothing here ever puts one in an error or a description.

use std::time::Duration;

use tiberius::{Client, Config};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::engine::Error;

/// A tiberius client over a tokio TCP stream.
pub type TdsClient = Client<Compat<TcpStream>>;

/// How long connecting (TCP and login) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads an ADO.NET connection string.
///
/// # Errors
/// A string tiberius cannot read. The message names the accepted keys, never the string.
pub fn config(ado: &str) -> Result<Config, Error> {
    Config::from_ado_string(ado).map_err(|_| Error::InvalidConnection {
        message: "not a valid ADO.NET connection string; write it as \
                  server=tcp:HOST,PORT;database=NAME;user=USER;password=...;encrypt=true"
            .into(),
    })
}

/// The host an ADO.NET string connects to (`tcp:` prefix, port and instance removed).
#[must_use]
pub fn host(ado: &str) -> Option<String> {
    ado.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        matches!(
            key.as_str(),
            "server" | "data source" | "address" | "addr" | "network address"
        )
        .then(|| {
            let value = value.trim().trim_start_matches("tcp:");
            value
                .split([',', '\\'])
                .next()
                .unwrap_or(value)
                .trim()
                .to_string()
        })
    })
}

/// `host,port / database` of an ADO.NET string, for messages. Only those two keys are read.
#[must_use]
pub fn describe(ado: &str) -> String {
    let mut server = None;
    let mut database = None;
    for pair in ado.split(';') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "server" | "data source" | "address" | "addr" | "network address" => {
                server = Some(value.trim().trim_start_matches("tcp:").to_string());
            }
            "database" | "initial catalog" => database = Some(value.trim().to_string()),
            _ => {}
        }
    }
    format!(
        "SQL Server {} (database {})",
        server.as_deref().unwrap_or("(no server given)"),
        database.as_deref().unwrap_or("(default)")
    )
}

/// Opens a connection, following one routing redirect (Azure SQL does that).
///
/// # Errors
/// The server cannot be reached, refuses the login, or does not answer in time.
pub async fn connect(config: Config) -> Result<TdsClient, Error> {
    let target = config.get_addr();
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| Error::Connect {
        target: target.clone(),
        source,
    };
    let attempt = async {
        let client = match open(config.clone()).await? {
            Ok(client) => client,
            Err(tiberius::error::Error::Routing { host, port }) => {
                let mut redirected = config.clone();
                redirected.host(&host);
                redirected.port(port);
                open(redirected)
                    .await?
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
            }
            Err(e) => return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
        };
        Ok(client)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result.map_err(fail),
        Err(elapsed) => Err(fail(Box::new(elapsed))),
    }
}

async fn open(
    config: Config,
) -> Result<Result<TdsClient, tiberius::error::Error>, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = TcpStream::connect(config.get_addr()).await?;
    tcp.set_nodelay(true)?;
    Ok(Client::connect(config, tcp.compat_write()).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The description names the server and database, and nothing else.
    #[test]
    fn describe_keeps_credentials_out() {
        let d = describe(
            "Server=tcp:db1.corp,1433;Initial Catalog=OS_PREPROD;User ID=sa;Password=p@ss;",
        );
        assert_eq!(d, "SQL Server db1.corp,1433 (database OS_PREPROD)");
    }

    /// The host is found whatever the key spelling, without port or instance.
    #[test]
    fn host_of_connection_string() {
        assert_eq!(
            host("Data Source=tcp:prod-sql01\\OS,1433;Password=x").as_deref(),
            Some("prod-sql01")
        );
        assert_eq!(host("user=sa"), None);
    }

    /// An unreadable string is refused without echoing it.
    #[test]
    fn invalid_string_is_not_echoed() {
        let err = config("server=tcp:x,notaport;password=hunter2").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
