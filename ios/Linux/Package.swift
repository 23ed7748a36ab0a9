// swift-tools-version:6.0
// Linux-only manifest used by scripts/test-swift in a staging copy of ios/
// inside the Debian 13 root: the generated C module as a system library
// (header + module map next to it), libmooring_ffi.so linked with the
// -L/-rpath flags the script passes. Targets and sources are the same as
// ios/Package.swift's.
import PackageDescription

let package = Package(
    name: "Mooring",
    products: [
        .library(name: "Mooring", targets: ["Mooring"]),
    ],
    targets: [
        .systemLibrary(name: "MooringFFIC", path: "Sources/MooringFFIC"),
        .target(
            name: "MooringFFI",
            dependencies: ["MooringFFIC"],
            path: "Sources/MooringFFI",
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: [.linkedLibrary("mooring_ffi")]
        ),
        .target(name: "Mooring", dependencies: ["MooringFFI"], path: "Sources/Mooring"),
        .testTarget(name: "MooringTests", dependencies: ["Mooring"], path: "Tests/MooringTests"),
    ],
    swiftLanguageModes: [.v6]
)
