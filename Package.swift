// swift-tools-version: 6.1
import PackageDescription

/// Swift 6 hygiene on every target (see ../shared/STYLE.md, after hummingbird).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "clusterctl",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "clusterctl", targets: ["ClusterCLI"]),
        .executable(name: "clusterctl-bench", targets: ["ClusterBench"]),
        .library(name: "ClusterKit", targets: ["ClusterKit"]),
        .library(name: "Provisioners", targets: ["Provisioners"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // C libraries from Debian packages; the build fails early, naming the package, when one is missing.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        .target(
            name: "ClusterKit",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Provisioners",
            dependencies: [
                "ClusterKit",
                "CCurl",
                "CLibSSH2",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ClusterCLI",
            dependencies: [
                "ClusterKit",
                "Provisioners",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ClusterTestSupport",
            dependencies: ["ClusterKit", "Provisioners"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ClusterBench",
            dependencies: ["ClusterKit", "Provisioners"],
            path: "Benchmarks/ClusterBench",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ClusterKitTests",
            dependencies: ["ClusterKit", "ClusterTestSupport", "Provisioners"],
            exclude: ["HostileSpecs"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProvisionersTests",
            dependencies: ["Provisioners", "ClusterTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ClusterCLITests",
            dependencies: ["ClusterTestSupport", "ClusterKit", "Provisioners"],
            swiftSettings: strictSettings
        ),
    ]
)
