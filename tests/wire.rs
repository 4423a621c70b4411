//! How values travel to SQL Server: long text and binary parameters as PLP, whole.
//!
//! No SQL Server runs here, and the embedded engine cannot read PLP parameters (which is why
//! postclone sends it literals instead). So this test records what tiberius puts on the wire
//! for postclone's parameters, through a relay in front of the engine, and decodes the TDS
//! packets itself: the bytes SQL Server would receive.
//! See: issue 11

use std::sync::{Arc, Mutex};

use postclone::engine::embedded::EmbeddedServer;
use postclone::engine::sqlserver::connect;
use postclone::engine::sqlserver::row::SqlParam;
use postclone::state::Value;
use tiberius::ToSql;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::fixture;

/// Relays one connection to `port`, recording what the client sends.
async fn relay(port: u16, sent: Arc<Mutex<Vec<u8>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("relay listens");
    let relay_port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let Ok(server) = TcpStream::connect(("127.0.0.1", port)).await else {
            return;
        };
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok(n) = server_read.read(&mut buf).await {
                if n == 0 || client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let mut buf = vec![0u8; 65_536];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sent.lock().expect("record").extend_from_slice(&buf[..n]);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    relay_port
}

/// The payload of every RPC request (TDS packet type 3) in a recorded stream, packets joined.
fn rpc_payloads(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut at = 0;
    while at + 8 <= stream.len() {
        let kind = stream[at];
        let status = stream[at + 1];
        let length = usize::from(u16::from_be_bytes([stream[at + 2], stream[at + 3]]));
        if length < 8 || at + length > stream.len() {
            break;
        }
        if kind == 3 {
            current.extend_from_slice(&stream[at + 8..at + length]);
            if status & 1 == 1 {
                out.push(std::mem::take(&mut current));
            }
        }
        at += length;
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A 100,000-character text and a 1 MiB binary value bound by postclone travel as PLP
/// (`(MAX)` types, unknown total length, one chunk holding the whole value).
#[test]
fn long_parameters_travel_whole_as_plp() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let text: String = "ab'😀".repeat(25_000); // 100,000 characters
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let sent = Arc::new(Mutex::new(Vec::new()));
    runtime.block_on(async {
        let server = EmbeddedServer::start(&fixture("core/clone.sql"))
            .await
            .expect("engine");
        let port = relay(server.port(), sent.clone()).await;
        let mut config = server.config();
        config.port(port);
        let mut client = connect::connect(config).await.expect("connects");
        let as_text = postclone::sql::Param::new(Value::Text(text.clone()), false);
        let as_bytes = postclone::sql::Param::new(Value::Bytes(bytes.clone()), false);
        let params = [SqlParam(&as_text), SqlParam(&as_bytes)];
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        // The engine misreads these parameters; only what was sent matters here.
        let _ = client
            .execute(
                "UPDATE APP_ORDERS SET CUSTOMER = @P1 WHERE 1 = 0 AND @P2 IS NULL",
                &refs,
            )
            .await;
    });
    let sent = sent.lock().expect("record").clone();
    let rpc = rpc_payloads(&sent)
        .into_iter()
        .find(|p| p.len() > 1 << 20)
        .expect("the RPC carrying the parameters");

    // NVARCHAR(MAX): type 0xE7, maximum length 0xFFFF, collation, unknown PLP length, then one
    // chunk of the whole UTF-16 text and the terminator.
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut chunk = (utf16.len() as u32).to_le_bytes().to_vec();
    chunk.extend_from_slice(&utf16);
    chunk.extend_from_slice(&0u32.to_le_bytes());
    let at = find(&rpc, &chunk).expect("the whole text in one PLP chunk");
    assert_eq!(&rpc[at - 8..at], &0xFFFF_FFFF_FFFF_FFFEu64.to_le_bytes());
    assert_eq!(&rpc[at - 15..at - 13], &[0xFF, 0xFF], "NVARCHAR(MAX)");
    assert_eq!(rpc[at - 16], 0xE7);

    // VARBINARY(MAX): type 0xA5, maximum length 0xFFFF, unknown PLP length, one chunk.
    let mut chunk = (bytes.len() as u32).to_le_bytes().to_vec();
    chunk.extend_from_slice(&bytes);
    chunk.extend_from_slice(&0u32.to_le_bytes());
    let at = find(&rpc, &chunk).expect("the whole binary value in one PLP chunk");
    assert_eq!(&rpc[at - 8..at], &0xFFFF_FFFF_FFFF_FFFEu64.to_le_bytes());
    assert_eq!(&rpc[at - 11..at - 8], &[0xA5, 0xFF, 0xFF], "VARBINARY(MAX)");
}
