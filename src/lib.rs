//! postclone brings an OutSystems 11 environment back to a safe, declared state after its
//! platform database was cloned from another environment.
//!
//! The loop: a spec (YAML, in git) is loaded into the desired state; an engine inspects the
//! database into the observed state; `diff` turns both into changes, `graph` orders them, and
//! `plan` is what `postclone plan` shows and `postclone apply` executes in one transaction.
//!
//! Layers, from top to bottom (arrows point down only): `cli` → `apply`, `restore`,
//! `planning`, `render`, `profile`, `spec` → `plan`, `graph` → `diff`, `change` → `state`;
//! `apply`, `restore` and `planning` → `engine` → `state`, `change`.
#![warn(missing_docs)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod apply;
pub mod change;
pub mod cli;
pub mod datapump;
pub mod diff;
pub mod engine;
pub mod graph;
pub mod guard;
pub mod journal;
pub mod plan;
pub mod planning;
pub mod profile;
pub mod render;
pub mod restore;
pub mod spec;
pub mod state;
#[cfg(test)]
pub(crate) mod test_support;
