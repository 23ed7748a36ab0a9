# Everyday tasks. Every recipe is a thin wrapper: the README's commands work
# without `just` installed.

# The main job: the demo (emulator + loading screen + status + prompt).
demo *ARGS:
    ./scripts/demo {{ARGS}}

# Every test.
test:
    ./scripts/test

# The emulator alone, in the foreground.
emulator PORT="8080" ROWS="10000":
    cargo run --release -p mooring-devserver -- --port {{PORT}} --seed-rows {{ROWS}} --token dev-token

# One sync of a local mirror against a server (the emulator above by default).
sync PROFILE DB SERVER="http://127.0.0.1:8080":
    MOORING_TOKEN="${MOORING_TOKEN:-dev-token}" cargo run --release -p mooring-cli --bin mooring -- sync --server {{SERVER}} --profile {{PROFILE}} --db {{DB}}

# Benchmarks (figures go to docs/benchmarks.md).
bench:
    ./scripts/bench

# The long kill soak of initial sync.
soak:
    ./scripts/soak-kill

fmt:
    cargo fmt --all

lint:
    cargo clippy --workspace --all-targets --release -- -D warnings
