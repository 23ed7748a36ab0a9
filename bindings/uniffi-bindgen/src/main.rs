//! `cargo run --release --bin uniffi-bindgen -- generate --library <lib> -l kotlin -o <dir>`:
//! see scripts/bindings.

fn main() {
    uniffi::uniffi_bindgen_main()
}
