//! Verdict's batch files: customers as Arrow record batches in, decision
//! records as Arrow columns out.
//!
//! A batch of customers becomes the engine's span-free
//! [`Profile`](verdict_engine::Profile)s through [`profiles_from_batch`] (or
//! a [`RowChecker`], which carries the unique-id rule across batches and
//! reports each bad row on its own): each row is turned into the JSON
//! object it stands for (see [`columns`] for the mapping) and checked by
//! `verdict_engine::customer_from_json`, the checks every TOML or JSON
//! customer passes. Decisions become columns with [`decisions_to_batch`]
//! in the layout [`decisions_schema`] describes, enough to replay them
//! ([`recorded_from_batch`]).
//!
//! [`read::profiles`] and [`read::decisions`] stream record batches from
//! Parquet, CSV, JSON Lines or Arrow IPC files, chosen by extension;
//! [`write::DecisionsFile`] writes Parquet, JSON Lines or Arrow IPC to a
//! temporary name and renames it only when finished.
//!
//! This crate knows no terminals and no command line: it returns values
//! and typed errors.

#![deny(missing_docs)]

pub mod columns;
mod decisions;
mod error;
pub mod format;
mod keys;
mod profiles;
pub mod read;
pub mod report;
pub mod write;

pub use arrow_array::RecordBatch;
pub use decisions::{EncodeError, decisions_schema, decisions_to_batch, recorded_from_batch};
pub use error::{BatchError, RowError};
pub use format::Format;
pub use profiles::{RowChecker, profiles_from_batch};
