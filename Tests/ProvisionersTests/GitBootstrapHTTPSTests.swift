import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The Git half over HTTP(S) with a token, against the real `git http-backend` on loopback:
/// the token reaches the server only in the Authorization header, never in a URL.
@Suite(.serialized, .enabled(if: GitTestServer.shouldRun, "git missing: \(GitTestServer.unavailableReason ?? "")"))
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
