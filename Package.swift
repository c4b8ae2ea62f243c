// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

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
    .target(name: "Scanner", dependencies: ["Formats"], swiftSettings: strict),
    .executableTarget(
      name: "scan",
      dependencies: ["Scanner", "Formats", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: strict
    ),
    .testTarget(name: "FormatsTests", dependencies: ["Formats"], swiftSettings: strict),
    .testTarget(name: "ScannerTests", dependencies: ["Scanner", "Formats"], swiftSettings: strict),
  ]
)
