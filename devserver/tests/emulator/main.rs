//! Integration tests: the emulator on a free port, a real HTTP client, and
//! the status codes, headers and JSON shapes Dataverse documents.

mod batch;
mod common;
mod faults;
mod metadata;
mod read;
mod tracking;
mod write;
