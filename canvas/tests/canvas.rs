//! Canvas app sources to offline profiles, one module per subject.

mod apps;
mod fuzz_regressions;
mod server;
