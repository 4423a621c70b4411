//! postclone brings an OutSystems 11 environment back to a safe, declared state after its
//! platform database was cloned from another environment.
//!
//! The loop: a spec (YAML, in git) is loaded into the desired state (`spec`); `inspect` reads
//! the database into the observed state through an engine's IO (`engine`), with the queries
//! `sql` writes; `diff` turns both into changes, `graph` orders them, and `plan` is what
//! `postclone plan` shows and `postclone apply` executes in one `transaction`.
//!
//! Layers, from top to bottom; a module uses only the layers below its own (checked by a test
//! in `layers.rs`):
//!
//! | layer | modules |
//! |---|---|
//! | command line | `cli` |
//! | the signed statement of an apply, many environments at once | `attest`, `fleet` |
//! | what a command does | `apply`, `capture`, `restore`, `planning` |
//! | what one command knows while it runs (the engine, the catalog read, the keys) | `run` |
//! | the write path apply and restore share: a step's pages of statements, run in order | `executor` |
//! | the one transaction of an apply or a restore, the events its writes queue | `transaction`, `queues` |
//! | reading specs, showing plans | `render`, `spec` |
//! | the plan, the built-in profiles | `plan`, `profile` |
//! | ordering | `graph` |
//! | reading the catalog and the drift | `inspect` |
//! | databases' IO | `engine` |
//! | SQL text | `sql` |
//! | deciding changes, keeping old rows | `diff`, `journal` |
//! | what a change is, which database is safe | `change`, `guard` |
//! | the model | `state` |
//! | keys and signatures | `signing` |
//! | secrets by reference (`env:`, `file:`, `exec:`) | `secret` |
//! | Oracle Data Pump parameters, files read, YAML written | `datapump`, `files`, `yaml_out` |
#![warn(missing_docs)]
#![warn(clippy::unwrap_used)]
// A function over 100 lines (clippy's threshold) is split by what its parts do: CI denies it.
#![warn(clippy::too_many_lines)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod apply;
pub mod attest;
pub mod capture;
pub mod change;
pub mod cli;
pub mod datapump;
pub mod diff;
pub mod engine;
pub mod executor;
pub mod files;
pub mod fleet;
pub mod graph;
pub mod guard;
pub mod inspect;
pub mod journal;
#[cfg(test)]
mod layers;
pub mod plan;
pub mod planning;
pub mod profile;
pub mod queues;
pub mod render;
pub mod restore;
pub mod run;
pub mod secret;
pub mod signing;
pub mod spec;
pub mod sql;
pub mod state;
#[cfg(test)]
pub(crate) mod test_support;
pub mod transaction;
pub mod yaml_out;
