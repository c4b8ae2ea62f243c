// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

// The runtime's kernels need AVX2/FMA/F16C code generation on x86_64 (measured: the fused
// dequantize-and-dot kernels run 3x faster and `addingProduct` becomes one vfmadd instruction).
// `SCAN_FMA` tells the kernels that `addingProduct` is a single instruction; without it they use `a + b * c`.
#if arch(x86_64)
let kernelSettings: [SwiftSetting] = [
  .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"]),
  .define("SCAN_FMA"),
]
#else
let kernelSettings: [SwiftSetting] = []
#endif

let package = Package(
  name: "scan",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "scan", targets: ["scan"]),
    .library(name: "Formats", targets: ["Formats"]),
    .library(name: "Scanner", targets: ["Scanner"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
  ],
  targets: [
    // zlib from the system (Debian: zlib1g-dev), used to inflate ZIP members.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
    .target(
      name: "Formats",
      dependencies: ["CZlib", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: strict
    ),
    // Optimised even in debug builds: the behavioural detectors run models inside `swift test`, and an
    // unoptimised forward pass is ~50x slower (minutes instead of seconds per test).
    .target(name: "Scanner", dependencies: ["Formats"],
            swiftSettings: strict + kernelSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]),
    .executableTarget(
      name: "scan",
      dependencies: ["Scanner", "Formats", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: strict
    ),
    .testTarget(name: "FormatsTests", dependencies: ["Formats"], swiftSettings: strict),
    .testTarget(name: "ScannerTests", dependencies: ["Scanner", "Formats"], swiftSettings: strict),
  ]
)
