//! An `iridium_server` (SQL-Server-compatible engine) started in-process for one test, on a free
//! 127.0.0.1 port with TLS off, loaded from a fixture script. Tests read it back with tiberius.
//! It stops when dropped.
//!
//! Inside [`on_live_server`] the same tests run against a real SQL Server instead (the live
//! tests, `POSTCLONE_SQLSERVER_TEST`): every database a fixture script `USE`s is dropped and
//! created again there, then loaded from the script, and postclone connects to it.

use std::cell::RefCell;
use std::path::Path;

use futures_util::TryStreamExt;
use postclone::engine::embedded::EmbeddedServer;
use postclone::engine::sqlserver::connect::{self, TdsClient};
use postclone::engine::sqlserver::row;

/// A running engine and a client connected to it.
pub struct TestServer {
    // Field order matters: the client and server drop before the runtime they run on.
    client: TdsClient,
    server: Backend,
    runtime: tokio::runtime::Runtime,
}

/// Where a test's databases are.
enum Backend {
    /// The embedded engine, started for this test.
    Embedded(EmbeddedServer),
    /// A real SQL Server: its ADO.NET connection string, without a database.
    Live(String),
}

thread_local! {
    /// The real SQL Server the tests of this thread run against, if any.
    static LIVE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `test` with every [`TestServer`] it starts on the real SQL Server `connection` (an
/// ADO.NET string of a login that may drop and create databases). One test at a time: the
/// fixtures' databases have fixed names.
pub fn on_live_server(connection: &str, test: impl FnOnce()) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let without_database: Vec<&str> = connection
        .split(';')
        .filter(|part| {
            let key = part
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            !part.trim().is_empty() && key != "database" && key != "initial catalog"
        })
        .collect();
    LIVE.with(|l| *l.borrow_mut() = Some(without_database.join(";")));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LIVE.with(|l| *l.borrow_mut() = None);
        }
    }
    let _reset = Reset;
    test();
}

/// Whether this thread's tests run on a real SQL Server (see [`on_live_server`]).
pub fn is_live() -> bool {
    LIVE.with(|l| l.borrow().is_some())
}

/// The databases a fixture script works in (`USE NAME` lines), once each.
fn used_databases(script: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in script.lines() {
        let mut words = line.split_whitespace();
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("USE")) {
            if let Some(name) = words.next() {
                let name = name.trim_matches(|c| c == '[' || c == ']' || c == ';');
                if !out.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

impl TestServer {
    /// Starts an engine loaded from `script` (inside [`on_live_server`], loads the script into
    /// the real server instead).
    pub fn start(script: &Path) -> TestServer {
        if let Some(live) = LIVE.with(|l| l.borrow().clone()) {
            return TestServer::live(&live, script);
        }
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
            server: Backend::Embedded(server),
            runtime,
        }
    }

    /// The databases `script` uses, dropped and created again on the real server
    /// `connection`, then loaded from it.
    #[allow(clippy::disallowed_methods)]
    fn live(connection: &str, script: &Path) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime");
        let text = std::fs::read_to_string(script).expect("script");
        let client = runtime.block_on(async {
            let config = tiberius::Config::from_ado_string(&format!("{connection};database=master"))
                .expect("POSTCLONE_SQLSERVER_TEST is an ADO.NET connection string");
            let mut client = connect::connect(config)
                .await
                .expect("the live SQL Server accepts the connection");
            for name in used_databases(&text) {
                // Fixture names only (letters, digits, `_`): written into the statement.
                assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{name}");
                let recreate = format!(
                    "IF DB_ID(N'{name}') IS NOT NULL BEGIN ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [{name}] END; CREATE DATABASE [{name}]"
                );
                let result = match client.simple_query(recreate).await {
                    Ok(stream) => stream.into_results().await.map(drop),
                    Err(e) => Err(e),
                };
                result.unwrap_or_else(|e| panic!("creating database {name}: {e}"));
            }
            client
        });
        let mut server = TestServer {
            client,
            server: Backend::Live(connection.to_string()),
            runtime,
        };
        server.run_script(script);
        server
    }

    /// An ADO.NET string for the postclone binary; `database` is what the login asks for.
    pub fn connection(&self, database: &str) -> String {
        match &self.server {
            Backend::Embedded(server) => format!(
                "server=tcp:127.0.0.1,{};database={database};user=sa;password=test-only;encrypt=DANGER_PLAINTEXT",
                server.port()
            ),
            Backend::Live(connection) => format!("{connection};database={database}"),
        }
    }

    /// The port, for redacting outputs (0 on a live server: nothing to redact).
    pub fn port(&self) -> u16 {
        match &self.server {
            Backend::Embedded(server) => server.port(),
            Backend::Live(_) => 0,
        }
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
