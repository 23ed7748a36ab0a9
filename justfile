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
# from staticlibs for iOS devices, the iOS simulator (arm64 + x86_64 merged
# with lipo) and macOS (arm64 + x86_64 merged: Package.swift declares macOS,
# and `swift test` on a Mac links this slice), headers from the Swift
# bindings; the Swift file goes to ios/Sources/MooringFFI/ for the package.
ios-xcframework:
    #!/usr/bin/env bash
    set -euo pipefail
    [ "$(uname -s)" = Darwin ] || { echo "ios-xcframework needs macOS with Xcode" >&2; exit 1; }
    targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
    rustup target add "${targets[@]}"
    for t in "${targets[@]}"; do
        cargo rustc --release --locked -p mooring-ffi --lib --crate-type staticlib --target "$t"
    done
    tdir="${CARGO_TARGET_DIR:-target}"
    # Bindings from the host's dylib: the same exported API on every target.
    ./scripts/bindings swift "$tdir/bindings/swift" >/dev/null
    work="$tdir/ios-xcframework"
    rm -rf "$work" ios/MooringFFI.xcframework
    mkdir -p "$work/headers" "$work/sim" "$work/macos" ios/Sources/MooringFFI
    cp "$tdir/bindings/swift/MooringFFIC.h" "$work/headers/"
    cp "$tdir/bindings/swift/MooringFFIC.modulemap" "$work/headers/module.modulemap"
    lipo -create \
        "$tdir/aarch64-apple-ios-sim/release/libmooring_ffi.a" \
        "$tdir/x86_64-apple-ios/release/libmooring_ffi.a" \
        -output "$work/sim/libmooring_ffi.a"
    lipo -create \
        "$tdir/aarch64-apple-darwin/release/libmooring_ffi.a" \
        "$tdir/x86_64-apple-darwin/release/libmooring_ffi.a" \
        -output "$work/macos/libmooring_ffi.a"
    xcodebuild -create-xcframework \
        -library "$tdir/aarch64-apple-ios/release/libmooring_ffi.a" -headers "$work/headers" \
        -library "$work/sim/libmooring_ffi.a" -headers "$work/headers" \
        -library "$work/macos/libmooring_ffi.a" -headers "$work/headers" \
        -output ios/MooringFFI.xcframework
    cp "$tdir/bindings/swift/MooringFFI.swift" ios/Sources/MooringFFI/
    echo "ios/MooringFFI.xcframework and ios/Sources/MooringFFI/MooringFFI.swift are ready"

# macOS with Xcode only: the Swift package's tests on the Mac itself (the
# macOS slice), every test including those that start the emulator with
# `Process` (which iOS lacks: on an iOS simulator only the view-model tests
# are built).
ios-test-macos: ios-xcframework
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release --locked -p mooring-devserver
    tdir="${CARGO_TARGET_DIR:-target}"
    case "$tdir" in /*) ;; *) tdir="$PWD/$tdir" ;; esac
    cd ios && MOORING_DEVSERVER="$tdir/release/mooring-devserver" swift test

# The Kotlin API layer's JVM tests against the real library and emulator.
test-kotlin:
    ./scripts/test-kotlin
