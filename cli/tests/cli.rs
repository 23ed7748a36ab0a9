//! The `mooring` binary as a user runs it: real processes against the emulator,
//! one module per command or scenario (see each file).

mod common;
mod demo;
mod kill;
mod offline;
mod shell;
mod sync;
mod sync_app;
mod transaction_kill;
mod upload_kill;
