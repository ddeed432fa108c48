import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// Power against the Hetzner model: the exact requests, the model's action semantics, and the
/// traffic checked against cloud.spec.json.
@Suite("Hetzner power against the loopback API model")
struct HetznerPowerTests {
    static func running() async throws -> (HetznerTestEnvironment, ObservedMachine) {
        let env = try HetznerTestEnvironment()
        env.addSnapshot()
        let machines = try await env.up([env.request(pool: "cp", role: .controlPlane, index: 1)])
        return (env, try #require(machines.first))
    }

    /// The lines of the requests sent after `start`.
    static func lines(_ env: HetznerTestEnvironment, after start: Int) -> [String] {
        env.model.requests.dropFirst(start).map(\.line)
    }

    @Test("power off: one poweroff action, waited on; off again and on again cost one read each")
    func exactRequests() async throws {
        let (env, machine) = try await Self.running()
        defer { env.server.stop() }
        let id = machine.providerID
        var start = env.model.requests.count
        try await env.provisioner.powerOff(machine)
        let off = Self.lines(env, after: start)
        #expect(off.first == "GET /v1/servers/\(id)")
        #expect(off.filter { $0 == "POST /v1/servers/\(id)/actions/poweroff" }.count == 1)
        #expect(off.contains { $0.hasPrefix("GET /v1/actions?id=") })
        #expect(off.last == "GET /v1/servers/\(id)")
        #expect(env.model.servers.first?.status == "off")

        start = env.model.requests.count
        try await env.provisioner.powerOff(machine)
        #expect(Self.lines(env, after: start) == ["GET /v1/servers/\(id)"])

        try await env.provisioner.powerOn(machine)
        start = env.model.requests.count
        try await env.provisioner.powerOn(machine)
        #expect(Self.lines(env, after: start) == ["GET /v1/servers/\(id)"])
        #expect(env.model.servers.first?.status == "running")

        start = env.model.requests.count
        try await env.provisioner.reset(machine)
        #expect(Self.lines(env, after: start).contains("POST /v1/servers/\(id)/actions/reset"))
        try await env.provisioner.powerOff(machine)
        start = env.model.requests.count
        let refused = await #expect(throws: ClusterError.self) { try await env.provisioner.reset(machine) }
        #expect(refused?.code == .refused)
        #expect(refused?.hint?.contains("on") == true)
        #expect(!Self.lines(env, after: start).contains { $0.hasPrefix("POST") }, "a reset of an off server sends nothing")
    }

    @Test("the model: stopping while the action runs, a poweroff of an off server succeeds, the server is locked meanwhile")
    func modelSemantics() async throws {
        let (env, machine) = try await Self.running()
        defer { env.server.stop() }
        let id = try #require(Int(machine.providerID))
        let action = try await env.client.serverAction(id: id, "poweroff")
        #expect(action.command == "stop_server")
        #expect(action.status == "running")
        #expect(try await env.client.server(id: id).status == "stopping")
        #expect(try await env.provisioner.powerState(of: machine) == .transitioning)
        #expect(try await env.provisioner.listMachines(cluster: "home").first?.phase == .stopped)
        // Another action on the server meanwhile: 423 locked.
        let locked = await #expect(throws: HTTPError.self) {
            _ = try await HetznerClient(token: env.model.token, endpoint: env.server.baseURL + "/v1", http: HTTPClient(
                transport: CurlHTTPTransport(configuration: HTTPClientConfiguration()), retry: .none, time: env.clock
            )).serverAction(id: id, "poweron")
        }
        #expect(locked?.apiCode == "locked")
        let done = try await env.provisioner.waiter.wait(for: [action])
        #expect(done.first?.status == "success")
        #expect(try await env.client.server(id: id).status == "off")

        // Already off: accepted, succeeds, changes nothing.
        let again = try await env.provisioner.waiter.wait(for: [try await env.client.serverAction(id: id, "poweroff")])
        #expect(again.first?.status == "success")
        #expect(try await env.client.server(id: id).status == "off")

        // A power off that waits out a transition: someone else's poweron is under way.
        _ = try await env.client.serverAction(id: id, "poweron")
        #expect(try await env.provisioner.powerState(of: machine) == .transitioning)
        try await env.provisioner.powerOff(machine)
        #expect(try await env.provisioner.powerState(of: machine) == .off)
        #expect(env.model.requests.filter { $0.method == "POST" && $0.path.hasSuffix("/actions/poweroff") }.count == 3)
    }

    @Test("a failed poweroff action surfaces its code; the server stays running")
    func failedAction() async throws {
        let (env, machine) = try await Self.running()
        defer { env.server.stop() }
        env.model.failNextAction(command: "stop_server", code: "server_error", message: "host is in maintenance")
        let error = await #expect(throws: ClusterError.self) { try await env.provisioner.powerOff(machine) }
        #expect(error?.message.contains("server_error: host is in maintenance") == true, "\(String(describing: error))")
        #expect(env.model.servers.first?.status == "running")
        #expect(try await env.provisioner.powerState(of: machine) == .on)
    }

    @Test("every power request and answer is valid against cloud.spec.json", .requiresReference(ReferenceData.hetznerOpenAPI))
    func openAPI() async throws {
        let (env, machine) = try await Self.running()
        defer { env.server.stop() }
        try await env.provisioner.powerOff(machine)
        try await env.provisioner.powerOff(machine)
        try await env.provisioner.powerOn(machine)
        try await env.provisioner.reset(machine)
        try await env.provisioner.deleteMachine(machine)
        _ = try? await env.provisioner.powerState(of: machine)
        let records = env.model.requests
        guard let outcome = try HetznerSpecValidator.validate(records) else { return }
        #expect(outcome.checked == records.count)
        #expect(outcome.errors.isEmpty, "\(outcome.errors.prefix(20).joined(separator: "\n"))")
    }
}
