import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Synchronization
import Testing

/// The Git half over HTTP(S) with a token, against the real `git http-backend` on loopback:
/// the token reaches the server only in the Authorization header, never in a URL.
@Suite(.serialized, .requiresReference(files: FluxReference.files), .enabled(if: GitTestServer.shouldRun, "git missing: \(GitTestServer.unavailableReason ?? "")"))
struct GitBootstrapHTTPSTests {
    static let token = "glpat-s3cr3t-T0KEN-value"

    static func request(_ server: GitHTTPTestServer, token: String) throws -> GitOpsBootstrapRequest {
        let spec = GitOpsSpec(url: server.url, branch: "main", path: "clusters/home", credentials: .environment("FLUX_GIT_TOKEN"))
        let components = try FluxComponents(manifest: try FluxReference.layoutFile("gotk-components.yaml"), origin: "reference")
        return GitOpsBootstrapRequest(layout: try FluxBootstrapLayout(spec: spec), components: components, credentials: .https(username: "git", token: token))
    }

    @Test func aTokenPushesTheLayoutAndTravelsOnlyInTheAuthorizationHeader() async throws {
        let server = try GitHTTPTestServer(token: Self.token)
        defer { server.stop() }
        try server.repository.commit(path: "README.md", content: "# fleet\n", message: "Initial commit")

        let result = try await GitBootstrapRepository().bootstrap(try Self.request(server, token: Self.token))
        let log = try server.repository.log()
        #expect(log.map(\.message) == [FluxBootstrapLayout.syncCommitMessage, "Add Flux v2.9.4 component manifests", "Initial commit"])
        #expect(result.commit == log.first?.sha)
        let sync = try #require(server.repository.file("clusters/home/flux-system/gotk-sync.yaml"))
        #expect(sync.contains("  url: \(server.url)\n"))
        #expect(!sync.contains(Self.token))

        let requests = server.requests
        #expect(requests.contains { $0.path.hasSuffix("/git-receive-pack") && $0.method == "POST" })
        // Unauthenticated first, as git does, then basic auth from the credential helper.
        #expect(requests.first?.headers["authorization"] == nil)
        for request in requests {
            #expect(!request.path.contains(Self.token) && !request.query.contains { $0.value.contains(Self.token) })
        }
    }

    @Test func theTokenIsNeverWrittenIntoTheClone() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-gitops-scan-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let findings = Mutex<(scanned: [String], leaks: [String])>(([], []))
        // While the push is in flight the clone exists: every file in it is read for the token.
        let server = try GitHTTPTestServer(token: Self.token) { request in
            guard request.path.hasSuffix("/git-receive-pack") else { return }
            let files = FileManager.default.enumerator(atPath: scratch.path)?.compactMap { $0 as? String } ?? []
            for file in files {
                let path = scratch.appendingPathComponent(file).path
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                let leaked = String(decoding: data, as: UTF8.self).contains(Self.token)
                findings.withLock {
                    $0.scanned.append(file)
                    if leaked { $0.leaks.append(file) }
                }
            }
        }
        defer { server.stop() }
        try server.repository.commit(path: "README.md", content: "# fleet\n", message: "Initial commit")
        _ = try await GitBootstrapRepository(temporaryDirectory: scratch).bootstrap(try Self.request(server, token: Self.token))
        let result = findings.withLock { $0 }
        #expect(result.scanned.contains { $0.hasSuffix("repo/.git/config") })
        #expect(result.leaks.isEmpty, "token found in \(result.leaks)")
        // And the clone is gone afterwards.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }

    @Test func aWrongTokenIsRefusedWithoutShowingIt() async throws {
        let server = try GitHTTPTestServer(token: Self.token)
        defer { server.stop() }
        try server.repository.commit(path: "README.md", content: "# fleet\n", message: "Initial commit")
        let wrong = "wrong-T0KEN-value-123"
        let error = try await #require(throws: ProvisionerError.self) {
            try await GitBootstrapRepository().bootstrap(try Self.request(server, token: wrong))
        }
        #expect(error.code == .refused)
        #expect(!error.description.contains(wrong))
        #expect(try server.repository.log().count == 1)
    }
}
