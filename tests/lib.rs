//! Integration tests: the real binary, against a real TDS engine started in-process per test.
//! No test mocks the database.

mod common;

mod apply;
mod attest;
mod carry;
mod cli;
mod copies;
mod credentials;
mod fleet;
mod formats;
mod generated;
mod hostile;
mod interrupt;
mod journal;
mod live;
mod oracle;
mod personal;
mod plan;
mod profile;
mod quarantine;
mod references;
mod saved_plan;
mod schemas;
mod secrets;
mod shapes;
mod statements;
mod validate;
mod wire;
