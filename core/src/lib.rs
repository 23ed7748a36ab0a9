//! mooring-core: the local SQLite mirror of a Dataverse environment and the
//! engines that fill it (initial sync), keep it current (delta sync) and push
//! local writes (upload). No uniffi here: bindings live in `bindings/`.

pub mod status;
