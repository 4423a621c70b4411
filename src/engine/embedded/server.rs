//! The embedded engine's server: an in-process `iridium_server` on a
//! free 127.0.0.1 port, loaded from a SQL file, for rehearsing `plan`/`apply` with no server.
//!
//! It listens on loopback only and stops when the `EmbeddedServer` is dropped (or the process
//! ends). TLS is off: the engine's TLS handshake does not work with tiberius, and nothing leaves
//! the machine.

use std::path::{Path, PathBuf};

use iridium_server::{ServerConfig, TdsServer};

use super::EmbeddedDatabase;
use tiberius::{AuthMethod, Config, EncryptionLevel};
use tokio::task::JoinHandle;

use crate::engine::sqlserver::connect;
use crate::engine::Error;

/// A running embedded engine.
pub struct EmbeddedServer {
    port: u16,
    database: String,
    task: JoinHandle<()>,
}

impl EmbeddedServer {
    /// Starts the engine and runs `script` (batches separated by `GO` lines) in it. The database
    /// name is the one the script ends in (`USE ...`), as a restored backup carries its own.
    ///
    /// # Errors
    /// The script cannot be read, or a batch fails (named by its first line).
    pub async fn start(script: &Path) -> Result<EmbeddedServer, Error> {
        let text = std::fs::read_to_string(script).map_err(|e| Error::Embedded {
            message: format!("cannot read {}: {e}", script.display()),
        })?;
        let mut server = TdsServer::new_with_database(
            EmbeddedDatabase::new(),
            ServerConfig::default()
                .host("127.0.0.1")
                .port(0)
                .disable_tls(),
        );
        let addr = server.bind().await.map_err(|e| Error::Embedded {
            message: format!("cannot listen on 127.0.0.1: {e}"),
        })?;
        let task = tokio::spawn(async move {
            // The server only returns on a listener error; the task is aborted on drop.
            let _ = server.run().await;
        });
        let mut started = EmbeddedServer {
            port: addr.port(),
            database: "master".into(),
            task,
        };
        started.database = started.load(script.to_path_buf(), &text).await?;
        Ok(started)
    }

    /// A client configuration for this engine.
    #[must_use]
    pub fn config(&self) -> Config {
        let mut config = Config::new();
        config.host("127.0.0.1");
        config.port(self.port);
        config.database(&self.database);
        config.authentication(AuthMethod::sql_server("postclone", ""));
        config.encryption(EncryptionLevel::NotSupported);
        config
    }

    /// The loopback port the engine listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs the script batch by batch; returns the database it ends in.
    // Loading a local fixture script is the one place where whole batches of trusted SQL are
    // sent as text; no value from anywhere else is pasted into them.
    #[allow(clippy::disallowed_methods)]
    async fn load(&self, script: PathBuf, text: &str) -> Result<String, Error> {
        let mut client = connect::connect(self.config()).await?;
        for batch in batches(text) {
            let result = match client.simple_query(batch).await {
                Ok(stream) => stream.into_results().await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                let first = batch.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                return Err(Error::Embedded {
                    message: format!(
                        "{}: batch starting `{}` failed: {e}",
                        script.display(),
                        first.trim()
                    ),
                });
            }
        }
        let row = client
            .simple_query("SELECT DB_NAME()")
            .await
            .map_err(|e| Error::Embedded {
                message: e.to_string(),
            })?
            .into_row()
            .await
            .map_err(|e| Error::Embedded {
                message: e.to_string(),
            })?;
        Ok(row
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .unwrap_or_else(|| "master".into()))
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Splits a script on lines holding only `GO`, the SQL Server tools' batch separator.
#[must_use]
pub fn batches(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().eq_ignore_ascii_case("go") {
            out.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    out.push(&text[start..]);
    out.into_iter()
        .map(skip_leading_comments)
        .filter(|b| !b.trim().is_empty())
        .collect()
}

/// Drops blank and `--` comment lines at the start of a batch: the embedded engine recognises
/// `USE` only when it opens the batch.
fn skip_leading_comments(batch: &str) -> &str {
    let mut rest = batch;
    loop {
        let trimmed = rest.trim_start();
        if let Some(comment) = trimmed.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else {
            return trimmed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GO` lines separate batches, whatever their case and spacing.
    #[test]
    fn go_separates_batches() {
        let b = batches("-- c\nUSE X\nGO\n  go  \nINSERT INTO a VALUES (1)\nGO\n");
        assert_eq!(b, vec!["USE X\n", "INSERT INTO a VALUES (1)\n"]);
    }
}
