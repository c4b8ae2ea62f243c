// swift-tools-version:6.1
// Benchmarks for the Formats module, kept out of the root package (STYLE.md §1): `swift build -c release
// --package-path Benchmarks`, or run everything with `Benchmarks/bench-formats.sh`.
import PackageDescription

let package = Package(
  name: "ScanBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [.package(name: "scan", path: "..")],
  targets: [
    .executableTarget(
      name: "bench-formats",
      dependencies: [.product(name: "Formats", package: "scan")],
      path: "Sources/BenchFormats",
      swiftSettings: [
        .swiftLanguageMode(.v6),
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
      ]
    )
  ]
)
