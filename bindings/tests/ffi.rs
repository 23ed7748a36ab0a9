//! The FFI surface as the Kotlin and Swift shells call it, one module per subject.

mod app;
mod canvas;
mod conversions;
