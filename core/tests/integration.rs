//! The core's integration tests, one module per subject (see each file).

mod common;
mod delta;
mod faults;
mod fuzz_regressions;
mod hostile;
mod hostile_server;
mod initial;
mod outbox;
mod outbox_props;
mod proxy;
mod scheduler;
mod security;
mod sql;
mod store;
mod tls;
mod transactions;
mod upgrade;
mod values;
