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

# Kotlin bindings of mooring-ffi into target/bindings/kotlin (never committed).
bindings-kotlin OUT="target/bindings/kotlin":
    ./scripts/bindings kotlin {{OUT}}

# Swift bindings (+ C header and module map) into target/bindings/swift.
bindings-swift OUT="target/bindings/swift":
    ./scripts/bindings swift {{OUT}}

# macOS with Xcode only (cannot run on Linux): ios/MooringFFI.xcframework
# from device and simulator staticlibs (arm64 simulator + x86_64 simulator
# merged with lipo), headers from the Swift bindings; the Swift file goes to
# ios/Sources/MooringFFI/ for the Swift package.
ios-xcframework:
    #!/usr/bin/env bash
    set -euo pipefail
    [ "$(uname -s)" = Darwin ] || { echo "ios-xcframework needs macOS with Xcode" >&2; exit 1; }
    rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
    for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
        cargo build --release --locked -p mooring-ffi --target "$t"
    done
    tdir="${CARGO_TARGET_DIR:-target}"
    # Bindings from the host's dylib: the same exported API on every target.
    ./scripts/bindings swift "$tdir/bindings/swift" >/dev/null
    work="$tdir/ios-xcframework"
    rm -rf "$work" ios/MooringFFI.xcframework
    mkdir -p "$work/headers" "$work/sim" ios/Sources/MooringFFI
    cp "$tdir/bindings/swift/MooringFFIC.h" "$work/headers/"
    cp "$tdir/bindings/swift/MooringFFIC.modulemap" "$work/headers/module.modulemap"
    lipo -create \
        "$tdir/aarch64-apple-ios-sim/release/libmooring_ffi.a" \
        "$tdir/x86_64-apple-ios/release/libmooring_ffi.a" \
        -output "$work/sim/libmooring_ffi.a"
    xcodebuild -create-xcframework \
        -library "$tdir/aarch64-apple-ios/release/libmooring_ffi.a" -headers "$work/headers" \
        -library "$work/sim/libmooring_ffi.a" -headers "$work/headers" \
        -output ios/MooringFFI.xcframework
    cp "$tdir/bindings/swift/MooringFFI.swift" ios/Sources/MooringFFI/
    echo "ios/MooringFFI.xcframework and ios/Sources/MooringFFI/MooringFFI.swift are ready"

# The Kotlin API layer's JVM tests against the real library and emulator.
test-kotlin:
    ./scripts/test-kotlin
