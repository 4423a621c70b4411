//! An `iridium_server` (SQL-Server-compatible engine) started in-process for one test, on a free
//! 127.0.0.1 port with TLS off, loaded from a fixture script. Tests read it back with tiberius.
//! It stops when dropped.

use std::path::Path;

use futures_util::TryStreamExt;
use postclone::engine::embedded::EmbeddedServer;
use postclone::engine::sqlserver::connect::{self, TdsClient};
use postclone::engine::sqlserver::row;

/// A running engine and a client connected to it.
pub struct TestServer {
    // Field order matters: the client and server drop before the runtime they run on.
    client: TdsClient,
    server: EmbeddedServer,
    runtime: tokio::runtime::Runtime,
}

impl TestServer {
    /// Starts an engine loaded from `script`.
    pub fn start(script: &Path) -> TestServer {
        // Worker threads keep serving while the test thread waits on the postclone process.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime");
        let (server, client) = runtime.block_on(async {
            let server = EmbeddedServer::start(script).await.expect("fixture loads");
            let client = connect::connect(server.config())
                .await
                .expect("test client connects");
            (server, client)
        });
        TestServer {
            client,
            server,
            runtime,
        }
    }

    /// An ADO.NET string for the postclone binary; `database` is what the login asks for.
    pub fn connection(&self, database: &str) -> String {
        format!(
            "server=tcp:127.0.0.1,{};database={database};user=sa;password=test-only;encrypt=DANGER_PLAINTEXT",
            self.server.port()
        )
    }

    /// The port, for redacting outputs.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Every row of a query, each as `a | b | c`.
    pub fn rows(&mut self, sql: &str) -> Vec<String> {
        let client = &mut self.client;
        self.runtime.block_on(async {
            let mut stream = client
                .query(sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_row_stream();
            let mut out = Vec::new();
            while let Some(r) = stream
                .try_next()
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
            {
                let cells: Vec<String> = r.into_iter().map(|c| row::value(c).to_string()).collect();
                out.push(cells.join(" | "));
            }
            out
        })
    }

    /// Runs a script of trusted fixture SQL, batch by batch (`GO` lines), as a person would in
    /// a query editor.
    #[allow(clippy::disallowed_methods)]
    pub fn run_script(&mut self, script: &Path) {
        let text = std::fs::read_to_string(script).expect("script");
        let client = &mut self.client;
        self.runtime.block_on(async {
            for batch in postclone::engine::embedded::batches(&text) {
                let result = match client.simple_query(batch).await {
                    Ok(stream) => stream.into_results().await.map(drop),
                    Err(e) => Err(e),
                };
                result.unwrap_or_else(|e| panic!("{}: {e}\n{batch}", script.display()));
            }
        });
    }

    /// Runs one trusted statement, as a person would in a query editor.
    #[allow(clippy::disallowed_methods)]
    pub fn run_sql(&mut self, sql: &str) {
        let client = &mut self.client;
        self.runtime.block_on(async {
            let result = match client.simple_query(sql).await {
                Ok(stream) => stream.into_results().await.map(drop),
                Err(e) => Err(e),
            };
            result.unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    }

    /// Every base table, by name.
    pub fn tables(&mut self) -> Vec<String> {
        self.rows("SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")
            .into_iter()
            .map(|t| t.trim_matches('"').to_string())
            .collect()
    }

    /// Every table, whole, by name.
    pub fn dump_everything(&mut self) -> Vec<(String, Vec<String>)> {
        let tables = self.tables();
        tables.iter().map(|t| (t.clone(), self.dump(t))).collect()
    }

    /// A whole table, every column, its rows sorted: for before/after comparisons. (The
    /// embedded engine does not honour `ORDER BY 1`, so rows are sorted here.)
    ///
    /// A long column (`(MAX)`) is read as the server's own text when short, and compared by its
    /// `DATALENGTH` and SHA-256 when not: never through postclone's reader (the thing under
    /// test) nor selected as it is (the engine's encoder is wrong for it); single-byte text is read as national text,
    /// decimals and dates as the server's own text (its encoder is wrong for those too).
    pub fn dump(&mut self, table: &str) -> Vec<String> {
        let columns = self.rows(&format!(
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM INFORMATION_SCHEMA.COLUMNS \
             WHERE UPPER(TABLE_NAME) = UPPER('{table}') ORDER BY ORDINAL_POSITION"
        ));
        let list: Vec<String> = columns
            .iter()
            .map(|row| {
                let cells: Vec<&str> = row.split(" | ").collect();
                let name = cells[0].trim_matches('"');
                let ty = cells[1].trim_matches('"');
                let long = matches!(cells[2].parse::<i64>(), Ok(n) if n == -1 || n > 8000);
                if long {
                    format!(
                        "CASE WHEN DATALENGTH([{name}]) <= 400 THEN CAST([{name}] AS NVARCHAR(400)) \
                         ELSE CAST(DATALENGTH([{name}]) AS VARCHAR(20)) + ' bytes, SHA-256 ' + \
                         CONVERT(VARCHAR(64), HASHBYTES('SHA2_256', [{name}]), 2) END"
                    )
                } else if ty == "varchar" || ty == "char" {
                    format!("CAST([{name}] AS NVARCHAR(8000))")
                } else if matches!(ty, "decimal" | "numeric" | "datetime" | "datetime2" | "date" | "time" | "smalldatetime") {
                    format!("CAST([{name}] AS NVARCHAR(80))")
                } else {
                    format!("[{name}]")
                }
            })
            .collect();
        let mut rows = self.rows(&format!("SELECT {} FROM {table}", list.join(", ")));
        rows.sort();
        rows
    }

    /// Whole-table dumps of several tables.
    pub fn dump_all(&mut self, tables: &[&str]) -> Vec<(String, Vec<String>)> {
        tables
            .iter()
            .map(|t| (t.to_string(), self.dump(t)))
            .collect()
    }
}
