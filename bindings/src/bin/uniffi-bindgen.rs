//! The workspace's `uniffi-bindgen` (feature `bindgen`): generates the
//! Kotlin and Swift bindings from the built library; see scripts/bindings.
//! A bin of this crate behind a feature, not a crate of its own, so the test
//! command builds uniffi once with one feature set (`cargo test --workspace
//! --features mooring-ffi/bindgen` builds this binary too), while an app's
//! build of the library (`-p mooring-ffi`, no feature) stays lean.

fn main() {
    uniffi::uniffi_bindgen_main()
}
