//! What safety costs, and that it stays flat as the clone grows.
//!
//! `cargo bench --bench clone_sizes [-- [--json] [--scenario NAME] SIZES...]` generates
//! synthetic clones of each size and measures, for the scenario (default `runbook`, sizes 1,000,
//! 10,000 and 30,000):
//!
//! - `runbook`: the demo clone plus SIZE rows spread over the tables the `outsystems-o11`
//!   profile touches. `plan` (wall time, requests sent to the server, peak memory of the
//!   postclone process), `apply --auto-approve` (journal included), `restore` of that journal,
//!   and the runbook's own statements (`tests/fixtures/o11/runbook.sql`) on a fresh copy of the
//!   same clone as the baseline.
//! - `masking`: SIZE customers of an application entity masked by `kind: masked` (names,
//!   emails, phones, through the metamodel) and SIZE orders holding copies of their emails and
//!   phones (masked by a second rule; the plan's copies scan finds and covers each), against
//!   plain `UPDATE`s of the same columns.
//! - `copies`: the `masking` scenario's plan alone, without the orders' rule: its copies scan
//!   finds every copy (`plan`: time, requests, memory).
//! - `references`: SIZE configuration parameters scanned for production's hosts by the
//!   profile's `production-references` (`plan`: time, requests, memory).
//!
//! With `--json`, one JSON object per size is printed besides the table.
//!
//! Requests are counted by a TDS proxy between postclone and the engine (every request ends
//! with an end-of-message packet), so the count does not depend on postclone's own accounting.
//! Peak memory is the postclone process's own high-water mark (`VmHWM`): the embedded engine
//! holding the clone runs in this process, not in postclone's.
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, missing_docs)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postclone::engine::embedded::{self, EmbeddedServer};
use postclone::engine::sqlserver::connect;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The profile as the runbook applies it: the scan for values naming production (a check the
/// runbook has no statement for, measured by `--scenario references`) is left out, as a spec
/// that declares no production hosts must.
const SPEC: &str = "engine: sqlserver\nguard: { database: OS_PREPROD }\ninclude: [outsystems-o11]\nexclude: [production-references]\n";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo clone plus `size` rows that the profile changes: a quarter each in security
/// parameters (deleted) and front-end servers (emptied), database connections with their
/// extension mappings (deleted; at most 250 of each, as a platform has dozens, not thousands),
/// and the rest in secret site properties (reset), the table that grows with tenants.
fn clone_sql(size: usize) -> String {
    let mut sql =
        std::fs::read_to_string(root().join("examples/demo/clone.sql")).expect("demo clone");
    let quarter = size / 4;
    let names = [
        "ClientApplicationToken",
        "privateKeyValidation",
        "OutSystems.SiteProperties.EncryptionKey",
    ];
    // A table whose ID is an identity takes rows with their own ids under IDENTITY_INSERT.
    let mut batch = |table: &str, identity: Option<&str>, rows: Vec<String>| {
        if identity.is_some() {
            let _ = writeln!(sql, "SET IDENTITY_INSERT {table} ON\nGO");
        }
        for chunk in rows.chunks(500) {
            let _ = writeln!(
                sql,
                "INSERT INTO {table}{} VALUES {}\nGO",
                identity.unwrap_or_default(),
                chunk.join(", ")
            );
        }
        if identity.is_some() {
            let _ = writeln!(sql, "SET IDENTITY_INSERT {table} OFF\nGO");
        }
    };
    batch(
        "OSSYS_PARAMETER",
        None,
        (0..quarter)
            .map(|i| {
                format!(
                    "({}, '{}', NULL, 'tok-PROD-{i}')",
                    1000 + i,
                    names[i % names.len()]
                )
            })
            .collect(),
    );
    batch(
        "OSSYS_SERVER",
        None,
        (0..quarter)
            .map(|i| {
                format!(
                    "({}, 'prod-fe{i}', '10.20.{}.{}')",
                    1000 + i,
                    i / 250,
                    i % 250
                )
            })
            .collect(),
    );
    let connections = (size / 8).min(250);
    let properties = size - 2 * quarter - 2 * connections;
    batch(
        "OSSYS_SITE_PROPERTY",
        None,
        (0..properties)
            .map(|i| {
                format!(
                    "({}, {}, {}, 'secret-PROD-{i}', 1)",
                    1000 + i,
                    if i % 2 == 0 { 6 } else { 11 },
                    2 + i
                )
            })
            .collect(),
    );
    batch(
        "OSSYS_DBCONNECTION",
        Some(" (ID, NAME, DATABASE_CONFIGURATION)"),
        (0..connections)
            .map(|i| {
                format!(
                    "({}, 'Conn{i}', 'ProviderKey=SqlServer;Password=PROD-{i}')",
                    1000 + i
                )
            })
            .collect(),
    );
    batch(
        "OSSYS_EXTENSION_DBCONNECTION",
        None,
        (0..connections)
            .map(|i| format!("({}, {}, 'Db{i}', {})", 1000 + i, 5000 + i, 1000 + i))
            .collect(),
    );
    sql
}

/// The SQL batches sent through a proxy while capturing is on, in order.
type Capture = Arc<std::sync::Mutex<Option<Vec<String>>>>;

/// A TCP proxy to the engine that counts requests (client packets with end-of-message set).
/// With `BENCH_TRACE` set it prints each request's server time and its first characters.
/// While `capture` holds a list, the text of every SQL batch is added to it.
async fn proxy(target: u16, requests: Arc<AtomicU64>, capture: Capture) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy listens");
    let port = listener.local_addr().expect("proxy address").port();
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let requests = requests.clone();
            let capture = capture.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    return;
                };
                // Without these the proxy itself adds Nagle delays the figures would count.
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let sent = Arc::new(std::sync::Mutex::new((Instant::now(), String::new())));
                let sent_down = sent.clone();
                let down = tokio::spawn(async move {
                    let mut header = [0u8; 8];
                    while sr.read_exact(&mut header).await.is_ok() {
                        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
                        let mut body = vec![0u8; length.saturating_sub(8)];
                        if sr.read_exact(&mut body).await.is_err() {
                            break;
                        }
                        if trace && header[1] & 0x01 == 0x01 {
                            let (at, what) = &*sent_down.lock().expect("trace");
                            eprintln!("{:>9.1} ms  {what}", at.elapsed().as_secs_f64() * 1000.0);
                        }
                        if cw.write_all(&header).await.is_err()
                            || cw.write_all(&body).await.is_err()
                        {
                            break;
                        }
                    }
                });
                // TDS packets: type, status (0x01 = end of message), length (big-endian u16).
                let mut header = [0u8; 8];
                let mut first = Vec::new();
                let mut message = Vec::new();
                while cr.read_exact(&mut header).await.is_ok() {
                    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
                    let mut body = vec![0u8; length.saturating_sub(8)];
                    if cr.read_exact(&mut body).await.is_err() {
                        break;
                    }
                    if trace && first.is_empty() {
                        first = body.clone();
                    }
                    let capturing = header[0] == 0x01 && capture.lock().expect("capture").is_some();
                    if capturing {
                        message.extend_from_slice(&body);
                    }
                    if header[1] & 0x01 == 0x01 {
                        requests.fetch_add(1, Ordering::Relaxed);
                        if trace {
                            *sent.lock().expect("trace") =
                                (Instant::now(), describe(header[0], &first));
                            first.clear();
                        }
                        if capturing {
                            if let Some(list) = capture.lock().expect("capture").as_mut() {
                                list.push(batch_text(&message));
                            }
                            message.clear();
                        }
                    }
                    if sw.write_all(&header).await.is_err() || sw.write_all(&body).await.is_err() {
                        break;
                    }
                }
                down.abort();
            });
        }
    });
    port
}

/// The SQL text of a batch request: UTF-16 after the ALL_HEADERS block, whose first four bytes
/// give its length.
fn batch_text(body: &[u8]) -> String {
    let headers = body
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let units: Vec<u16> = body
        .get(headers..)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Whether a captured batch writes rows (what a baseline replays): not a read, a lock or a
/// transaction statement. The embedded engine's table locks (`DELETE ... WHERE 1 = 0`) write
/// nothing and are left out.
fn writes(batch: &str) -> bool {
    let start = batch.trim_start().to_ascii_uppercase();
    [
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "MERGE",
        "SET IDENTITY_INSERT",
        "IF ",
    ]
    .iter()
    .any(|w| start.starts_with(w))
        && !start.trim_end().ends_with("WHERE 1 = 0")
}

/// A request's kind and, for SQL text, its first characters (UTF-16 in TDS).
fn describe(kind: u8, body: &[u8]) -> String {
    let units: Vec<u16> = body
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text: String = String::from_utf16_lossy(&units)
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let text: String = text.chars().take(150).collect();
    match kind {
        0x01 => format!("batch {text}"),
        0x03 => format!("rpc {text}"),
        other => format!("packet {other:#x}"),
    }
}

#[derive(Clone)]
struct Run {
    wall: Duration,
    requests: u64,
    peak_kib: i64,
    stdout: String,
}

/// Runs the postclone binary and follows its peak memory (`VmHWM` of `/proc/PID/status`, read
/// every few milliseconds until it exits). The `ru_maxrss` that `wait` reports would not do:
/// it counts the moment between fork and exec, when the child is a copy of this process, which
/// holds the whole clone in its engine.
fn postclone(
    dir: &Path,
    args: &[&str],
    connection: &str,
    requests: &AtomicU64,
    env: &[(&str, &str)],
) -> Run {
    let before = requests.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postclone"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("POSTCLONE_CONNECTION", connection)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run postclone");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        // Read before checking for exit, so that the last reading is as late as possible.
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait for postclone") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = start.elapsed();
    let stdout = reader.join().expect("stdout reader");
    let code = status.code().expect("postclone was killed");
    assert!(
        code == 0 || code == 2,
        "postclone {args:?} exited {code}:\n{stdout}"
    );
    Run {
        wall,
        requests: requests.load(Ordering::Relaxed) - before,
        peak_kib,
        stdout,
    }
}

/// The tables and rows of the `masking` scenario: the metamodel of one module's entity and
/// `size` customers.
fn masking_clone(size: usize) -> String {
    let mut sql = String::from(
        "USE OS_PREPROD\nGO\n\
CREATE TABLE OSSYS_SERVER (ID INT NOT NULL PRIMARY KEY, NAME NVARCHAR(100) NOT NULL)\nGO\n\
CREATE TABLE OSSYS_ESPACE (ID INT NOT NULL PRIMARY KEY, NAME NVARCHAR(50) NOT NULL)\nGO\n\
INSERT INTO OSSYS_ESPACE VALUES (2, 'CRM')\nGO\n\
CREATE TABLE OSSYS_ENTITY (ID INT NOT NULL PRIMARY KEY, NAME NVARCHAR(50) NOT NULL, PHYSICAL_TABLE_NAME NVARCHAR(50) NOT NULL, ESPACE_ID INT NOT NULL, IS_ACTIVE BIT NOT NULL)\nGO\n\
INSERT INTO OSSYS_ENTITY VALUES (10, 'Customer', 'OSUSR_ABC_CUSTOMER', 2, 1)\nGO\n\
CREATE TABLE OSSYS_ENTITY_ATTR (ID INT NOT NULL PRIMARY KEY, ENTITY_ID INT NOT NULL, NAME NVARCHAR(50) NOT NULL, TYPE NVARCHAR(100) NOT NULL, IS_ACTIVE BIT NOT NULL)\nGO\n\
INSERT INTO OSSYS_ENTITY_ATTR VALUES (1, 10, 'Id', 'rtLongInteger', 1), (2, 10, 'Name', 'rtText', 1), (3, 10, 'Email', 'rtEmail', 1), (4, 10, 'Phone', 'rtPhoneNumber', 1)\nGO\n\
CREATE TABLE OSUSR_ABC_CUSTOMER (ID INT NOT NULL PRIMARY KEY, NAME NVARCHAR(100) NULL, EMAIL NVARCHAR(250) NULL, PHONE NVARCHAR(30) NULL)\nGO\n\
CREATE TABLE OSUSR_ABC_ORDER (ID INT NOT NULL PRIMARY KEY, CUSTOMERID INT NOT NULL, CONTACT NVARCHAR(250) NULL, NOTE NVARCHAR(400) NULL)\nGO\n",
    );
    let rows: Vec<String> = (0..size)
        .map(|i| {
            format!(
                "({i}, 'Customer Number {i}', 'customer.{i}@mail.example', '+33 6 {:02} {:02} {:02} {:02}')",
                i % 100,
                (i / 100) % 100,
                (i / 10_000) % 100,
                i % 7
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        let _ = writeln!(
            sql,
            "INSERT INTO OSUSR_ABC_CUSTOMER VALUES {}\nGO",
            chunk.join(", ")
        );
    }
    // An order per customer, with copies for the copies scan to find: the customer's email in
    // another case, and a note that quotes their phone otherwise written.
    let orders: Vec<String> = (0..size)
        .map(|i| {
            format!(
                "({i}, {i}, 'CUSTOMER.{i}@MAIL.EXAMPLE', 'Call back on 0033 6 {:02}{:02}{:02}{:02} before noon')",
                i % 100,
                (i / 100) % 100,
                (i / 10_000) % 100,
                i % 7
            )
        })
        .collect();
    for chunk in orders.chunks(500) {
        let _ = writeln!(
            sql,
            "INSERT INTO OSUSR_ABC_ORDER VALUES {}\nGO",
            chunk.join(", ")
        );
    }
    sql
}

/// The tables and rows of the `references` scenario: `size` parameters, one in a hundred
/// naming production's host, the others look-alikes and plain values.
fn references_clone(size: usize) -> String {
    let mut sql = String::from(
        "USE OS_PREPROD\nGO\n\
CREATE TABLE OSSYS_SERVER (ID INT NOT NULL PRIMARY KEY, NAME NVARCHAR(100) NOT NULL)\nGO\n\
CREATE TABLE OSSYS_PARAMETER (ID INT NOT NULL PRIMARY KEY, NAME NVARCHAR(200) NOT NULL, VAL NVARCHAR(MAX) NULL, HOST NVARCHAR(100) NULL)\nGO\n",
    );
    let rows: Vec<String> = (0..size)
        .map(|i| {
            let value = match i % 100 {
                0 => format!("https://api{i}.prod.example.com/x"),
                1..=9 => format!("https://api{i}.preprod.example.com/x"),
                _ => format!("value {i}"),
            };
            format!("({i}, 'Setting{i}', '{value}', NULL)")
        })
        .collect();
    for chunk in rows.chunks(500) {
        let _ = writeln!(
            sql,
            "INSERT INTO OSSYS_PARAMETER VALUES {}\nGO",
            chunk.join(", ")
        );
    }
    sql
}

/// The profile's resources and manual steps but `keep`, for an `exclude:` list.
fn profile_but(keep: &str) -> String {
    let text = std::fs::read_to_string(root().join("specs/outsystems-o11.yaml")).expect("profile");
    let mut ids = Vec::new();
    for line in text.lines() {
        if let Some(id) = line.trim_start().strip_prefix("- id: ") {
            if id != keep {
                ids.push(id.trim().to_string());
            }
        }
    }
    ids.join(", ")
}

/// Statements run directly on a fresh copy of the clone, timed: the baseline.
async fn timed(script: &Path, statements: &str) -> Duration {
    let batches: Vec<String> = embedded::batches(statements)
        .into_iter()
        .map(str::to_string)
        .collect();
    replayed(script, &[], &batches).await
}

/// On a fresh copy of the clone, `before` run untimed, then `timed` run and timed: the
/// statements of one postclone run, replayed bare after those of the runs before it.
async fn replayed(script: &Path, before: &[String], timed: &[String]) -> Duration {
    let server = EmbeddedServer::start(script).await.expect("clone loads");
    let mut client = connect::connect(server.config()).await.expect("connect");
    for batch in before {
        client
            .simple_query(batch.as_str())
            .await
            .expect("replayed batch")
            .into_results()
            .await
            .expect("replayed results");
    }
    let start = Instant::now();
    for batch in timed {
        client
            .simple_query(batch.as_str())
            .await
            .expect("baseline batch")
            .into_results()
            .await
            .expect("baseline results");
    }
    start.elapsed()
}

/// One size's figures. Timed runs are repeated (`--repeat N`, default 3, apply, restore and
/// the baseline alternating): the minimum is what the code costs, the median how much the
/// machine added; ratios are computed from the minimums.
#[derive(Default)]
struct Figures {
    rows: usize,
    plan: Option<Run>,
    apply: Vec<Run>,
    restore: Vec<Run>,
    baseline: Vec<Duration>,
    /// The restore's own writes replayed bare on the clone as the apply left it.
    restore_bare: Vec<Duration>,
}

fn min(times: &[Duration]) -> Option<Duration> {
    times.iter().min().copied()
}

fn median(times: &[Duration]) -> Option<Duration> {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied()
}

fn walls(runs: &[Run]) -> Vec<Duration> {
    runs.iter().map(|r| r.wall).collect()
}

impl Figures {
    /// apply time / baseline time, minimum over minimum.
    fn ratio(&self) -> Option<f64> {
        let (apply, baseline) = (min(&walls(&self.apply))?, min(&self.baseline)?);
        Some(apply.as_secs_f64() / baseline.as_secs_f64())
    }

    /// restore time / its writes run bare, minimum over minimum.
    fn restore_bare_ratio(&self) -> Option<f64> {
        let (restore, bare) = (min(&walls(&self.restore))?, min(&self.restore_bare)?);
        Some(restore.as_secs_f64() / bare.as_secs_f64())
    }

    /// restore time / apply time, minimum over minimum.
    fn restore_ratio(&self) -> Option<f64> {
        let (restore, apply) = (min(&walls(&self.restore))?, min(&walls(&self.apply))?);
        Some(restore.as_secs_f64() / apply.as_secs_f64())
    }

    fn json(&self, scenario: &str) -> String {
        let secs =
            |d: Option<Duration>| d.map_or("null".into(), |d| format!("{:.3}", d.as_secs_f64()));
        let req = |r: Option<&Run>| r.map_or("null".into(), |r| r.requests.to_string());
        let peak = |runs: &[Run]| {
            runs.iter()
                .map(|r| r.peak_kib)
                .max()
                .map_or("null".into(), |k| format!("{:.1}", k as f64 / 1024.0))
        };
        let plan: Vec<Run> = self.plan.iter().cloned().collect();
        let ratio = self.ratio().map_or("null".into(), |r| format!("{r:.3}"));
        let restore_ratio = self
            .restore_ratio()
            .map_or("null".into(), |r| format!("{r:.3}"));
        format!(
            "{{\"scenario\": \"{scenario}\", \"rows\": {}, \"repeats\": {}, \"plan_s\": {}, \"plan_requests\": {}, \"plan_peak_mib\": {}, \"apply_s\": {}, \"apply_median_s\": {}, \"baseline_s\": {}, \"baseline_median_s\": {}, \"ratio\": {ratio}, \"apply_requests\": {}, \"apply_peak_mib\": {}, \"restore_s\": {}, \"restore_median_s\": {}, \"restore_per_apply\": {restore_ratio}, \"restore_bare_s\": {}, \"restore_per_bare\": {}, \"restore_requests\": {}, \"restore_peak_mib\": {}}}",
            self.rows,
            self.apply.len().max(self.baseline.len()),
            secs(self.plan.as_ref().map(|r| r.wall)),
            req(self.plan.as_ref()),
            peak(&plan),
            secs(min(&walls(&self.apply))),
            secs(median(&walls(&self.apply))),
            secs(min(&self.baseline)),
            secs(median(&self.baseline)),
            req(self.apply.first()),
            peak(&self.apply),
            secs(min(&walls(&self.restore))),
            secs(median(&walls(&self.restore))),
            secs(min(&self.restore_bare)),
            self.restore_bare_ratio()
                .map_or("null".into(), |r| format!("{r:.3}")),
            req(self.restore.first()),
            peak(&self.restore),
        )
    }

    fn line(&self) -> String {
        let secs =
            |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.2}s", d.as_secs_f64()));
        let req = |r: Option<&Run>| r.map_or("-".into(), |r| r.requests.to_string());
        let mib = |runs: &[Run]| {
            runs.iter()
                .map(|r| r.peak_kib)
                .max()
                .map_or("-".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        let plan: Vec<Run> = self.plan.iter().cloned().collect();
        let ratio = self.ratio().map_or("-".into(), |r| format!("{r:.2}"));
        let restore_ratio = self
            .restore_ratio()
            .map_or("-".into(), |r| format!("{r:.2}"));
        format!(
            "{:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9} {:>6}",
            self.rows,
            secs(self.plan.as_ref().map(|r| r.wall)),
            req(self.plan.as_ref()),
            mib(&plan),
            secs(min(&walls(&self.apply))),
            secs(median(&walls(&self.apply))),
            secs(min(&self.baseline)),
            secs(median(&self.baseline)),
            ratio,
            mib(&self.apply),
            req(self.apply.first()),
            secs(min(&walls(&self.restore))),
            secs(median(&walls(&self.restore))),
            restore_ratio,
            mib(&self.restore),
            secs(min(&self.restore_bare)),
            self.restore_bare_ratio()
                .map_or("-".into(), |r| format!("{r:.2}")),
        )
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let scenario = args
        .iter()
        .position(|a| a == "--scenario")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "runbook".into());
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .map_or(3, |n| n.parse().expect("--repeat N"));
    let sizes: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || args[i - 1] != "--repeat")
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        match scenario.as_str() {
            "runbook" => vec![1_000, 10_000, 30_000],
            _ => vec![10_000, 100_000],
        }
    } else {
        sizes
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // `BENCH_SERVE=FILE` writes the runbook clone of the first size to FILE, serves it and
    // prints its connection string, until killed: for profiling one postclone run by hand.
    if let Some(path) = std::env::var_os("BENCH_SERVE") {
        std::fs::write(&path, clone_sql(sizes[0])).expect("write clone");
        let server = runtime
            .block_on(EmbeddedServer::start(Path::new(&path)))
            .expect("clone loads");
        println!(
            "server=tcp:127.0.0.1,{};database=OS_PREPROD;user=bench;password=bench;encrypt=DANGER_PLAINTEXT",
            server.port()
        );
        runtime.block_on(std::future::pending::<()>());
    }
    println!(
        "scenario {scenario} ({} cores)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "{:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9} {:>6}",
        "rows",
        "plan",
        "plan req",
        "plan mem",
        "apply",
        "apply md",
        "baseline",
        "base md",
        "ratio",
        "apply mem",
        "apply req",
        "restore",
        "rest md",
        "/apply",
        "rest mem",
        "rest bare",
        "/bare"
    );
    let mut documents = Vec::new();
    for size in sizes {
        let figures = match scenario.as_str() {
            "runbook" => runbook(&runtime, size, repeat),
            "masking" => masking(&runtime, size, repeat),
            "references" => references(&runtime, size),
            "copies" => copies(&runtime, size),
            other => panic!("no scenario {other}: runbook, masking, copies or references"),
        };
        println!("{}", figures.line());
        documents.push(figures.json(&scenario));
    }
    if json {
        for d in documents {
            println!("{d}");
        }
    }
}

/// Serves `script` behind a counting proxy; returns the server, the connection string and
/// the request counter.
fn serve(
    runtime: &tokio::runtime::Runtime,
    script: &Path,
) -> (EmbeddedServer, String, Arc<AtomicU64>) {
    let (server, connection, requests, _) = serve_capturing(runtime, script);
    (server, connection, requests)
}

/// [`serve`], with the proxy's capture of SQL batches.
fn serve_capturing(
    runtime: &tokio::runtime::Runtime,
    script: &Path,
) -> (EmbeddedServer, String, Arc<AtomicU64>, Capture) {
    let requests = Arc::new(AtomicU64::new(0));
    let capture: Capture = Arc::default();
    let (server, port) = runtime.block_on(async {
        let server = EmbeddedServer::start(script).await.expect("clone loads");
        let port = proxy(server.port(), requests.clone(), capture.clone()).await;
        (server, port)
    });
    let connection = format!(
        "server=tcp:127.0.0.1,{port};database=OS_PREPROD;user=bench;password=bench;encrypt=DANGER_PLAINTEXT"
    );
    (server, connection, requests, capture)
}

fn runbook(runtime: &tokio::runtime::Runtime, size: usize, repeat: usize) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("clone.sql");
    std::fs::write(&script, clone_sql(size)).expect("write clone");
    std::fs::write(dir.path().join("postclone.yaml"), SPEC).expect("write spec");
    let (server, connection, requests, capture) = serve_capturing(runtime, &script);
    let plan = postclone(
        dir.path(),
        &["plan", "--detailed-exitcode"],
        &connection,
        &requests,
        &[],
    );
    assert!(plan.stdout.contains("Plan: "), "{}", plan.stdout);
    let captured = |run: &mut dyn FnMut() -> Run| {
        *capture.lock().expect("capture") = Some(Vec::new());
        let out = run();
        let batches = capture.lock().expect("capture").take().unwrap_or_default();
        if let Some(dir) = std::env::var_os("BENCH_DUMP") {
            let n = std::fs::read_dir(&dir).map_or(0, |d| d.count());
            let text: Vec<String> = batches
                .iter()
                .map(|b| format!("{}\n-- writes: {}", b, writes(b)))
                .collect();
            std::fs::write(
                Path::new(&dir).join(format!("{n}.sql")),
                text.join("\nGO\n"),
            )
            .expect("dump");
        }
        (
            out,
            batches
                .into_iter()
                .filter(|b| writes(b))
                .collect::<Vec<_>>(),
        )
    };
    let runbook =
        std::fs::read_to_string(root().join("tests/fixtures/o11/runbook.sql")).expect("runbook");
    let mut figures = Figures {
        rows: size,
        plan: Some(plan),
        ..Figures::default()
    };
    // Restore gives the clone back as it was: each round applies to the same clone again.
    for round in 0..repeat.max(1) {
        let journal = format!("j{round}.jsonl");
        let (apply, applied) = captured(&mut || {
            postclone(
                dir.path(),
                &["apply", "--auto-approve", "--journal", &journal],
                &connection,
                &requests,
                &[],
            )
        });
        assert!(apply.stdout.contains("Converged"), "{}", apply.stdout);
        let (restore, restored) = captured(&mut || {
            postclone(
                dir.path(),
                &["restore", &journal, "--auto-approve"],
                &connection,
                &requests,
                &[],
            )
        });
        assert!(
            restore.stdout.contains("Restore complete"),
            "{}",
            restore.stdout
        );
        assert!(!applied.is_empty() && !restored.is_empty());
        figures.apply.push(apply);
        figures.restore.push(restore);
        figures
            .baseline
            .push(runtime.block_on(timed(&script, &runbook)));
        figures
            .restore_bare
            .push(runtime.block_on(replayed(&script, &applied, &restored)));
    }
    drop(server);
    figures
}

const MASK_KEY: &str = "bench-mask-key-0123456789";

fn masking(runtime: &tokio::runtime::Runtime, size: usize, repeat: usize) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("clone.sql");
    std::fs::write(&script, masking_clone(size)).expect("write clone");
    let spec = format!(
        "engine: sqlserver\nguard: {{ database: OS_PREPROD }}\ninclude: [outsystems-o11]\nexclude: [{}]\nresources:\n  - {{ id: customers, kind: masked, module: CRM, entity: Customer, attributes: {{ Name: name, Email: email, Phone: phone }} }}\n  - {{ id: orders, kind: masked, table: osusr_abc_order, attributes: {{ Contact: email, Note: redact }} }}\n",
        profile_but("")
    );
    std::fs::write(dir.path().join("postclone.yaml"), spec).expect("write spec");
    let key = [("POSTCLONE_MASK_KEY", MASK_KEY)];
    let plain = "UPDATE OSUSR_ABC_CUSTOMER SET NAME = N'Person', EMAIL = CONCAT(N'p', ID, N'@example.com'), PHONE = N'+1 555 0100 0000'; UPDATE OSUSR_ABC_ORDER SET CONTACT = CONCAT(N'p', ID, N'@example.com'), NOTE = N'[redacted]'";
    let mut figures = Figures {
        rows: size,
        ..Figures::default()
    };
    // Masking is not undone between rounds: each round masks a fresh copy of the clone, and
    // the engine's time for the same statements varies widely from run to run, so one round
    // says little.
    for round in 0..repeat.max(1) {
        let (server, connection, requests) = serve(runtime, &script);
        if round == 0 {
            let plan = postclone(
                dir.path(),
                &["plan", "--detailed-exitcode"],
                &connection,
                &requests,
                &key,
            );
            assert!(
                plan.stdout
                    .contains(&format!("copies: {} found, {} covered", 2 * size, 2 * size)),
                "{}",
                plan.stdout
            );
            figures.plan = Some(plan);
        }
        let journal = format!("j{round}.jsonl");
        let apply = postclone(
            dir.path(),
            &["apply", "--auto-approve", "--journal", &journal],
            &connection,
            &requests,
            &key,
        );
        assert!(apply.stdout.contains("Converged"), "{}", apply.stdout);
        drop(server);
        figures.apply.push(apply);
        figures
            .baseline
            .push(runtime.block_on(timed(&script, plain)));
    }
    figures
}

/// The masking scenario's plan alone: its copies scan over SIZE customers and SIZE orders.
fn copies(runtime: &tokio::runtime::Runtime, size: usize) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("clone.sql");
    std::fs::write(&script, masking_clone(size)).expect("write clone");
    let spec = format!(
        "engine: sqlserver\nguard: {{ database: OS_PREPROD }}\ninclude: [outsystems-o11]\nexclude: [{}]\nresources:\n  - {{ id: customers, kind: masked, module: CRM, entity: Customer, attributes: {{ Name: name, Email: email, Phone: phone }} }}\n",
        profile_but("")
    );
    std::fs::write(dir.path().join("postclone.yaml"), spec).expect("write spec");
    let (server, connection, requests) = serve(runtime, &script);
    let plan = postclone(
        dir.path(),
        &["plan", "--detailed-exitcode"],
        &connection,
        &requests,
        &[("POSTCLONE_MASK_KEY", MASK_KEY)],
    );
    // Without the orders' rule, every copy is one no rule covers.
    let expected = format!("copies: {} found, 0 covered", 2 * size);
    assert!(plan.stdout.contains(&expected), "{}", plan.stdout);
    drop(server);
    Figures {
        rows: size,
        plan: Some(plan),
        ..Figures::default()
    }
}

fn references(runtime: &tokio::runtime::Runtime, size: usize) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("clone.sql");
    std::fs::write(&script, references_clone(size)).expect("write clone");
    let spec = format!(
        "engine: sqlserver\nguard: {{ database: OS_PREPROD }}\nproduction: {{ hosts: [prod.example.com] }}\ninclude: [outsystems-o11]\nexclude: [{}]\n",
        profile_but("production-references")
    );
    std::fs::write(dir.path().join("postclone.yaml"), spec).expect("write spec");
    let (server, connection, requests) = serve(runtime, &script);
    let plan = postclone(
        dir.path(),
        &["plan", "--detailed-exitcode"],
        &connection,
        &requests,
        &[],
    );
    let expected = format!("{} values still name production", size / 100);
    assert!(plan.stdout.contains(&expected), "{}", plan.stdout);
    drop(server);
    Figures {
        rows: size,
        plan: Some(plan),
        ..Figures::default()
    }
}
