// swift-tools-version: 6.1
import PackageDescription

/// Swift 6 hygiene on every target (see ../shared/STYLE.md, after hummingbird).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// What the Talos machine API client and its loopback peer are built on: gRPC over HTTP/2 with
/// swift-nio-ssl TLS (Ed25519, see TalosMachineClient), and the generated protobuf code.
let talosAPIDependencies: [Target.Dependency] = [
    "TalosMachineAPI",
    .product(name: "GRPCCore", package: "grpc-swift-2"),
    .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
    .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
    .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOSSL", package: "swift-nio-ssl"),
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
        // The Talos machine API client: gRPC over HTTP/2 with mutual TLS (Ed25519, see TalosMachineClient).
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
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
        // gzip for the Talos kubeconfig stream (a .tar.gz, see TalosKubeconfigArchive).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "Gzip",
            dependencies: ["CZlib"],
            swiftSettings: strictSettings
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
        // Code generated from a trimmed copy of the Talos machine API protos
        // (scripts/generate-talos-api.sh); its own target so it compiles once.
        .target(
            name: "TalosMachineAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["proto"]
        ),
        .target(
            name: "Provisioners",
            dependencies: [
                "ClusterKit",
                "CCurl",
                "CLibSSH2",
                "Gzip",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ] + talosAPIDependencies,
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
            dependencies: [
                "ClusterKit",
                "Provisioners",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ] + talosAPIDependencies,
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ClusterBench",
            dependencies: ["ClusterKit", "Provisioners", "ClusterTestSupport"],
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
            dependencies: ["Provisioners", "ClusterTestSupport", "Gzip"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ClusterCLITests",
            dependencies: ["ClusterTestSupport", "ClusterKit", "Provisioners"],
            swiftSettings: strictSettings
        ),
    ]
)
