// swift-tools-version:6.0
// The package an iOS team consumes. Before building it, run on macOS with
// Xcode: `just ios-xcframework` (from the repository root). It writes
// ios/MooringFFI.xcframework (the Rust library for device + simulator, with
// the C header and module map of the `MooringFFIC` module) and the uniffi
// Swift file ios/Sources/MooringFFI/MooringFFI.swift. Neither is committed.
//
// The Linux tests do not use this manifest: scripts/test-swift copies
// ios/Linux/Package.swift over it in a staging copy (the .so instead of the
// XCFramework).
import PackageDescription

let package = Package(
    name: "Mooring",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "Mooring", targets: ["Mooring"]),
    ],
    targets: [
        // Static libraries + header + module map (module `MooringFFIC`).
        .binaryTarget(name: "MooringFFIC", path: "MooringFFI.xcframework"),
        // uniffi's generated Swift. Swift 5 mode: generated code is not ours
        // to make strict-concurrency clean.
        .target(
            name: "MooringFFI",
            dependencies: ["MooringFFIC"],
            path: "Sources/MooringFFI",
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: [
                // SQLCipher's crypto (CommonCrypto) and the HTTP stack's
                // system proxy/trust settings.
                .linkedFramework("Security"),
                .linkedFramework("SystemConfiguration"),
            ]
        ),
        .target(name: "Mooring", dependencies: ["MooringFFI"], path: "Sources/Mooring"),
        .testTarget(name: "MooringTests", dependencies: ["Mooring"], path: "Tests/MooringTests"),
    ],
    swiftLanguageModes: [.v6]
)
