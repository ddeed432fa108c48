import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// Pinned Flux components: a local file for air-gapped use, or the release asset fetched through
/// libcurl from a loopback server (redirected as GitHub redirects release downloads) and checked
/// against the pinned SHA-256.
struct FluxComponentsSourceTests {
    static func reference() throws -> String { try FluxReference.layoutFile("gotk-components.yaml") }

    @Test(.requiresReference(files: FluxReference.files)) func aLocalFileIsReadAndCheckedAgainstThePin() async throws {
        let path = try FluxReference.path("bootstrap-layout/clusters/home/flux-system/gotk-components.yaml")
        let source = FluxComponentsSource()
        let components = try await source.load(FluxSpec(componentsFile: path))
        #expect(components.version == "v2.9.4")
        #expect(components.manifest == (try Self.reference()))
        let pinned = try await source.load(FluxSpec(version: "v2.9.4", sha256: components.sha256, componentsFile: path))
        #expect(pinned.sha256 == components.sha256)
        await #expect(throws: ClusterError.self) {
            try await source.load(FluxSpec(version: "v2.9.4", sha256: String(repeating: "0", count: 64), componentsFile: path))
        }
        let missing = try await #require(throws: ClusterError.self) { try await source.load(FluxSpec(componentsFile: "/nonexistent/gotk.yaml")) }
        #expect(missing.message.contains("/nonexistent/gotk.yaml"))
        let none = try await #require(throws: ClusterError.self) { try await source.load(nil) }
        #expect(none.message.contains("gitops.flux"))
    }

    @Test(.requiresReference(files: FluxReference.files)) func aReleaseIsDownloadedThroughRedirectsAndChecked() async throws {
        let body = Array(try Self.reference().utf8)
        let server = try HTTPLoopbackServer { request in
            switch request.path {
            case "/fluxcd/flux2/releases/download/v2.9.4/install.yaml":
                .response(status: 302, headers: ["Location": "/objects/flux-install.yaml"], body: [])
            case "/objects/flux-install.yaml":
                .response(status: 200, headers: ["Content-Type": "application/octet-stream"], body: body)
            default:
                .response(status: 404, headers: [:], body: Array("Not Found".utf8))
            }
        }
        defer { server.stop() }
        let digest = FluxComponents.digest(body)
        // One attempt: the stopped-server case below fails at once instead of backing off.
        let http = HTTPClient(transport: CurlHTTPTransport(), retry: HTTPRetryPolicy(maxAttempts: 1))
        let source = FluxComponentsSource(http: http, releaseBaseURL: server.baseURL + "/fluxcd/flux2/releases/download")
        #expect(source.releaseURL(version: "v2.9.4") == server.baseURL + "/fluxcd/flux2/releases/download/v2.9.4/install.yaml")
        let components = try await source.load(FluxSpec(version: "v2.9.4", sha256: digest))
        #expect(components.version == "v2.9.4")
        #expect(components.sha256 == digest)

        let tampered = try await #require(throws: ClusterError.self) {
            try await source.load(FluxSpec(version: "v2.9.4", sha256: String(repeating: "1", count: 64)))
        }
        #expect(tampered.code == .refused)
        #expect(tampered.message.contains(digest))
        let absent = try await #require(throws: ClusterError.self) { try await source.load(FluxSpec(version: "v9.9.9", sha256: digest)) }
        #expect(absent.message.contains("v9.9.9"))

        // Cached in the cluster's directory, a pinned release is read again without the network.
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("flux-cache-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: cache) }
        _ = try await source.load(FluxSpec(version: "v2.9.4", sha256: digest), cacheDirectory: cache)
        #expect(FileManager.default.contents(atPath: cache.appendingPathComponent("flux-v2.9.4-install.yaml").path).map(Array.init) == body)
        server.stop()
        let offline = try await source.load(FluxSpec(version: "v2.9.4", sha256: digest), cacheDirectory: cache)
        #expect(offline.sha256 == digest)
        // A cached file that no longer matches the pin is not trusted (and the server is gone).
        try "tampered".write(to: cache.appendingPathComponent("flux-v2.9.4-install.yaml"), atomically: true, encoding: .utf8)
        await #expect(throws: ClusterError.self) { try await source.load(FluxSpec(version: "v2.9.4", sha256: digest), cacheDirectory: cache) }
    }
}
