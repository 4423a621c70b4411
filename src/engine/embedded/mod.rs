//! The embedded engine: an SQL-Server-compatible engine (`iridium_server`) run in-process, and
//! everything postclone does because of what that engine gets wrong, in one place:
//!
//! - `server`: the engine on a free 127.0.0.1 port, loaded from a SQL file (feature
//!   `embedded`);
//! - `database`: the engine's database, with what it gets wrong put right where a batch
//!   arrives (feature `embedded`);
//! - `literal`: values written into statements as literals, since the engine misreads RPC
//!   parameters;
//! - `pieces`: long values read in pieces, since the engine's encoder cannot carry them whole.
//!
//! `literal` and `pieces` are always built: a SQL Server connection finds out at run time that
//! the server is this engine (`sqlserver::wire`), whoever started it.

#[cfg(feature = "embedded")]
mod database;
pub mod literal;
pub mod pieces;
#[cfg(feature = "embedded")]
mod server;

#[cfg(feature = "embedded")]
pub use database::EmbeddedDatabase;
#[cfg(feature = "embedded")]
pub use server::{batches, EmbeddedServer};
