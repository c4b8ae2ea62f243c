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
// CKernels: the AVX2 integer dot products of the `.llamaCpp` Q8 kernels (Benchmarks/README.md "speed7": Swift's
// integer SIMD did not lower to vpmaddubsw/vpmaddwd), plus an AVX-512 VNNI copy compiled under a target attribute and
// chosen at run time ("Session 9"). -ffp-contract=off: the float order is ggml's, every FMA explicit.
let cKernelSettings: [CSetting] = [.unsafeFlags(["-mavx2", "-mfma", "-mf16c", "-ffp-contract=off", "-O3"])]
#else
let kernelSettings: [SwiftSetting] = []
let cKernelSettings: [CSetting] = [.unsafeFlags(["-ffp-contract=off"])]
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
    // Portable C; the AVX2 bodies compile only where __AVX2__ is defined (else Scanner uses its Swift kernels).
    .target(name: "CKernels", cSettings: cKernelSettings),
    .target(name: "Scanner", dependencies: ["Formats", "CKernels"], swiftSettings: strict + kernelSettings),
    .executableTarget(
      name: "scan",
      dependencies: ["Scanner", "Formats", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: strict
    ),
    .testTarget(name: "FormatsTests", dependencies: ["Formats"], swiftSettings: strict),
    .testTarget(name: "ScannerTests", dependencies: ["Scanner", "Formats"], swiftSettings: strict),
  ]
)
