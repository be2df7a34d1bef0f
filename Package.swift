// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "manifestor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "manifestor", targets: ["manifestor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "KubeModel"),
        .target(
            name: "Templates",
            dependencies: ["KubeModel", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "ArgoCD", dependencies: ["KubeModel"]),
        .target(name: "HTTPTransport", dependencies: ["CCurl"]),
        .target(name: "GitWire", dependencies: ["HTTPTransport", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "GitStore", dependencies: ["CLibGit2", "HTTPTransport", "GitWire"]),
        .target(
            name: "GitOps",
            dependencies: [
                "GitWire", "GitStore", "HTTPTransport", "KubeModel", "Templates",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ArgoCDLink",
            dependencies: [
                "GitOps", "GitWire", "HTTPTransport", "Templates",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ManifestorServer",
            dependencies: [
                "GitOps", "ArgoCDLink", "KubeModel", "Templates",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "manifestor",
            dependencies: [
                "KubeModel", "Templates", "ArgoCD", "ArgoCDLink", "GitOps", "ManifestorServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "GitStoreTests", dependencies: ["GitStore", "GitWire", "HTTPTransport"]),
        .testTarget(
            name: "ManifestorTests",
            dependencies: [
                "KubeModel", "Templates", "ArgoCD", "ArgoCDLink", "CLibGit2", "GitWire", "GitStore", "GitOps", "ManifestorServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
