import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// A Hetzner-only cluster whose API cannot be read (a wrong token, a 500, garbage, a closed
/// port): every command names the provider and why, leaves its pools alone and exits 1, never
/// "No changes" with exit 0. A server that echoes the token never gets it onto the screen.
@Suite(.serialized) struct CLIUnreadableProviderTests {
    static let spec = """
        name: cloud
        talos:
          version: v1.13.9
          image: default
          installDisk: /dev/sda
        kubernetes:
          version: v1.36.0
        endpoint:
          dns: k8s.cloud.example.net
        network:
          podCIDRs: [10.244.0.0/16]
          serviceCIDRs: [10.96.0.0/12]
        providers:
          - name: hcloud
            type: hetzner
            tokenEnv: HCLOUD_TOKEN
            locations: [fsn1]
        pools:
          - name: cp
            role: controlplane
            provider: hcloud
            count: 1
            size:
              serverType: cx22
        """

    struct Setup {
        let cli: CLIHarness
        let model = HetznerCloudModel(time: SystemTimeSource(), actionDuration: .milliseconds(100))
        let server: HTTPLoopbackServer

        init() throws {
            cli = try CLIHarness()
            try cli.write("clusters/cloud.yaml", CLIUnreadableProviderTests.spec)
            let model = model
            server = try HTTPLoopbackServer { model.handle($0) }
        }

        func run(_ arguments: [String], endpoint: String? = nil, token: String? = nil) throws -> CLIHarness.Output {
            try cli.run(arguments, environment: ["HCLOUD_ENDPOINT": endpoint ?? server.baseURL + "/v1", "HCLOUD_TOKEN": token ?? model.token])
        }
    }

    static func expectUnread(_ output: CLIHarness.Output, _ reason: String, _ command: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(output.status == 1, "\(command) exited \(output.status): \(output.stderr)", sourceLocation: sourceLocation)
        #expect(output.stderr.contains("error: provider hcloud could not be read ("), "\(command): \(output.stderr)", sourceLocation: sourceLocation)
        #expect(output.stderr.lowercased().contains(reason.lowercased()), "\(command) should say \(reason): \(output.stderr)", sourceLocation: sourceLocation)
        #expect(!output.stdout.contains("matches its spec") && !output.stdout.contains("No drift"), "\(command): \(output.stdout)", sourceLocation: sourceLocation)
    }

    @Test func aWrongTokenFailsPlanUpStatusAndDown() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let token = "wrong-token-0123456789"
        Self.expectUnread(try setup.run(["plan", "cloud"], token: token), "unable to authenticate", "plan")
        Self.expectUnread(try setup.run(["status", "cloud"], token: token), "unable to authenticate", "status")
        let up = try setup.run(["up", "cloud", "--until", "machines"], token: token)
        Self.expectUnread(up, "unable to authenticate", "up")
        let down = try setup.run(["down", "cloud", "--yes"], token: token)
        Self.expectUnread(down, "unable to authenticate", "down")
        #expect(down.stdout.contains("not looked at on hcloud"), "\(down.stdout)")
        #expect(!FileManager.default.fileExists(atPath: setup.cli.home.appendingPathComponent("cloud/secrets.yaml").path) || up.status == 1)
        #expect(setup.model.servers.isEmpty)
        #expect(!setup.model.requests.contains { $0.method != "GET" }, "nothing was changed")
    }

    @Test func serverErrorsGarbageAndAClosedPortFailPlan() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        setup.model.inject(.status(500, code: "server_error"), count: 1000, method: "GET")
        Self.expectUnread(try setup.run(["plan", "cloud"]), "server_error", "plan against 500s")

        let garbage = try HTTPLoopbackServer { _ in .response(status: 200, headers: ["Content-Type": "application/json"], body: Array("<html>not json".utf8)) }
        Self.expectUnread(try setup.run(["plan", "cloud"], endpoint: garbage.baseURL + "/v1"), "unexpected response body", "plan against garbage")

        let closed = try HTTPLoopbackServer { _ in .dropConnection }
        let closedURL = closed.baseURL + "/v1"
        closed.stop()
        Self.expectUnread(try setup.run(["plan", "cloud", "--timeout", "60s"], endpoint: closedURL), "connect", "plan against a closed port")
    }

    @Test func aTokenFileOthersCanReadIsRefusedWithTheFix() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let tokenFile = setup.cli.workDirectory.appendingPathComponent("hcloud-token")
        try (setup.model.token + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: tokenFile.path)
        try setup.cli.write("clusters/cloud.yaml", Self.spec.replacingOccurrences(of: "tokenEnv: HCLOUD_TOKEN", with: "tokenFile: \(tokenFile.path)"))
        let loose = try setup.cli.run(["plan", "cloud"], environment: ["HCLOUD_ENDPOINT": setup.server.baseURL + "/v1"])
        Self.expectUnread(loose, "chmod 600 \(tokenFile.path)", "plan with a loose token file")
        #expect(setup.model.requests.isEmpty, "the token was not sent")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)
        let fixed = try setup.cli.run(["plan", "cloud"], environment: ["HCLOUD_ENDPOINT": setup.server.baseURL + "/v1"])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("+ cloud-cp-1"), "\(fixed.stdout)")
    }

    @Test func aServerEchoingTheTokenNeverShowsIt() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let token = "s3cret-hcloud-token-ABCDEFGHIJ"
        let echo = try HTTPLoopbackServer { request in
            let sent = request.headers["authorization"] ?? ""
            let body = #"{"error":{"code":"unauthorized","message":"invalid token: \#(sent)"}}"#
            return .response(status: 401, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
        }
        for arguments in [["plan", "cloud"], ["status", "cloud", "-o", "json"], ["up", "cloud", "--until", "machines", "-o", "json"]] {
            let output = try setup.run(arguments, endpoint: echo.baseURL + "/v1", token: token)
            #expect(output.status == 1, "\(arguments): \(output.stderr)")
            #expect(!output.stdout.contains(token) && !output.stderr.contains(token), "\(arguments) leaked the token: \(output.stderr)")
            #expect((output.stdout + output.stderr).contains("invalid token: Bearer <redacted>"), "\(arguments): \(output.stderr)")
        }
        // The request log (a 503 is retried, and logged with the server's text) is scrubbed too.
        let flaky = try HTTPLoopbackServer { request in
            let body = #"{"error":{"code":"unavailable","message":"try later, \#(request.headers["authorization"] ?? "")"}}"#
            return .response(status: 503, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
        }
        let logged = try setup.run(["plan", "cloud"], endpoint: flaky.baseURL + "/v1", token: token)
        #expect(logged.stderr.contains("transient http failure") && logged.stderr.contains("try later, Bearer <redacted>"), "\(logged.stderr)")
        #expect(!logged.stderr.contains(token) && !logged.stdout.contains(token), "\(logged.stderr)")
    }
}
