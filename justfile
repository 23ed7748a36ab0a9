# Everyday tasks. Every recipe is a thin wrapper: the README's commands work
# without `just` installed.

# The main job: the demo.
demo *ARGS:
    ./scripts/demo {{ARGS}}

# Every test (Rust, and the Kotlin and Swift layers once they exist).
test:
    ./scripts/test

# The emulator alone, in the foreground.
emulator PORT="8080" ROWS="10000":
    cargo run --release -p mooring-devserver -- --port {{PORT}} --seed-rows {{ROWS}} --token dev-token

fmt:
    cargo fmt --all

lint:
    cargo clippy --workspace --all-targets --release -- -D warnings
