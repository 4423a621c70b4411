//! What safety costs, and that it stays flat as the clone grows.
//!
//! `cargo bench --bench clone_sizes [-- SIZES...]` generates synthetic clones (the demo clone
//! plus SIZE rows spread over the tables the `outsystems-o11` profile touches), and for each:
//!
//! - `plan`: wall time, requests sent to the server, peak memory of the postclone process;
//! - `apply --auto-approve` (journal included): wall time, peak memory;
//! - the runbook's own statements (`tests/fixtures/o11/runbook.sql`) on a fresh copy of the
//!   same clone, as the baseline.
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

const SPEC: &str =
    "engine: sqlserver\nguard: { database: OS_PREPROD }\ninclude: [outsystems-o11]\n";

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
    let mut batch = |table: &str, rows: Vec<String>| {
        for chunk in rows.chunks(500) {
            let _ = writeln!(sql, "INSERT INTO {table} VALUES {}\nGO", chunk.join(", "));
        }
    };
    batch(
        "OSSYS_PARAMETER",
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
        (0..connections)
            .map(|i| format!("({}, {}, 'Db{i}', {})", 1000 + i, 5000 + i, 1000 + i))
            .collect(),
    );
    sql
}

/// A TCP proxy to the engine that counts requests (client packets with end-of-message set).
/// With `BENCH_TRACE` set it prints each request's server time and its first characters.
async fn proxy(target: u16, requests: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy listens");
    let port = listener.local_addr().expect("proxy address").port();
    let trace = std::env::var_os("BENCH_TRACE").is_some();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let requests = requests.clone();
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
                while cr.read_exact(&mut header).await.is_ok() {
                    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
                    let mut body = vec![0u8; length.saturating_sub(8)];
                    if cr.read_exact(&mut body).await.is_err() {
                        break;
                    }
                    if trace && first.is_empty() {
                        first = body.clone();
                    }
                    if header[1] & 0x01 == 0x01 {
                        requests.fetch_add(1, Ordering::Relaxed);
                        if trace {
                            *sent.lock().expect("trace") =
                                (Instant::now(), describe(header[0], &first));
                            first.clear();
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
fn postclone(dir: &Path, args: &[&str], connection: &str, requests: &AtomicU64) -> Run {
    let before = requests.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postclone"))
        .args(args)
        .current_dir(dir)
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

/// The runbook's statements, batch by batch, on a fresh copy of the clone.
async fn baseline(script: &Path) -> Duration {
    let server = EmbeddedServer::start(script).await.expect("clone loads");
    let mut client = connect::connect(server.config()).await.expect("connect");
    let runbook =
        std::fs::read_to_string(root().join("tests/fixtures/o11/runbook.sql")).expect("runbook");
    let start = Instant::now();
    for batch in embedded::batches(&runbook) {
        client
            .simple_query(batch)
            .await
            .expect("runbook batch")
            .into_results()
            .await
            .expect("runbook results");
    }
    start.elapsed()
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // `BENCH_SERVE=FILE` writes the clone of the first size to FILE, serves it and prints its
    // connection string, until killed: for profiling one postclone run by hand.
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
        "{:>8} {:>10} {:>9} {:>10} {:>10} {:>10} {:>7} {:>10} {:>10}",
        "rows",
        "plan",
        "requests",
        "plan mem",
        "apply",
        "baseline",
        "ratio",
        "apply mem",
        "apply req"
    );
    for size in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("clone.sql");
        std::fs::write(&script, clone_sql(size)).expect("write clone");
        std::fs::write(dir.path().join("postclone.yaml"), SPEC).expect("write spec");
        let requests = Arc::new(AtomicU64::new(0));
        let (server, port) = runtime.block_on(async {
            let server = EmbeddedServer::start(&script).await.expect("clone loads");
            let port = proxy(server.port(), requests.clone()).await;
            (server, port)
        });
        let connection =
            format!("server=tcp:127.0.0.1,{port};database=OS_PREPROD;user=bench;password=bench;encrypt=DANGER_PLAINTEXT");
        let plan = postclone(
            dir.path(),
            &["plan", "--detailed-exitcode"],
            &connection,
            &requests,
        );
        assert!(plan.stdout.contains("Plan: "), "{}", plan.stdout);
        let apply = postclone(
            dir.path(),
            &["apply", "--auto-approve", "--journal", "j.jsonl"],
            &connection,
            &requests,
        );
        assert!(apply.stdout.contains("Converged"), "{}", apply.stdout);
        drop(server);
        let base = runtime.block_on(baseline(&script));
        println!(
            "{:>8} {:>9.2}s {:>9} {:>7} MiB {:>9.2}s {:>9.2}s {:>7.2} {:>6} MiB {:>10}",
            size,
            plan.wall.as_secs_f64(),
            plan.requests,
            plan.peak_kib / 1024,
            apply.wall.as_secs_f64(),
            base.as_secs_f64(),
            apply.wall.as_secs_f64() / base.as_secs_f64(),
            apply.peak_kib / 1024,
            apply.requests
        );
    }
}
