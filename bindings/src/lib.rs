//! mooring-ffi: the uniffi layer over mooring-core.
//!
//! Deliberately empty until the bindings issue: the core's public API is
//! still settling, and generated Kotlin/Swift would only freeze it early.
