import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

@Suite("Hetzner provisioner against the loopback API model")
struct HetznerProvisionerTests {
    static let imageSelector =
        "managed-by==clusterctl,talos-arch==amd64,talos-platform==hcloud,talos-schematic==\(String(repeating: "ab12", count: 8)),talos-version==v1.11.5"
    static let clusterSelector = "managed-by==clusterctl,cluster==home"

    @Test("one node: the exact requests, in order")
    func singleNodeSequence() async throws {
        let env = try HetznerTestEnvironment()
        env.addSnapshot()
        let machines = try await env.up([env.request(pool: "cp", role: .controlPlane, index: 1, userData: "machine:\n  type: controlplane\n")])
        let machine = try #require(machines.first)
        #expect(machine.phase == .running)
        let server = try #require(env.model.servers.first)
        let lines = env.model.requests.map(\.line)
        let actionPolls = lines.filter { $0.hasPrefix("GET /v1/actions?") }
        #expect(!actionPolls.isEmpty)
        #expect(Set(actionPolls).count == 1, "every round asks for the same two actions in one request")
        let expected =
            [
                "GET /v1/images?type=snapshot&label_selector=\(Self.imageSelector)&page=1&per_page=50",
                "GET /v1/networks?name=home-net&page=1&per_page=50",
                "POST /v1/networks",
                "GET /v1/firewalls?name=home-fw&page=1&per_page=50",
                "POST /v1/firewalls",
                "GET /v1/placement_groups?name=home-controlplane&page=1&per_page=50",
                "POST /v1/placement_groups",
                "GET /v1/servers?label_selector=\(Self.clusterSelector)&page=1&per_page=50",
                "POST /v1/servers",
            ] + actionPolls + ["GET /v1/servers/\(server.id)"]
        #expect(lines == expected)

        // The create body: labels, user data, network, firewall, spread group, public IPs.
        let create = try #require(env.model.requests.first { $0.method == "POST" && $0.path == "/v1/servers" })
        let body = try #require(JSONSerialization.jsonObject(with: Data((create.body ?? "").utf8)) as? [String: Any])
        #expect(body["name"] as? String == "home-cp-1")
        #expect(body["server_type"] as? String == "cx22")
        #expect(body["location"] as? String == "fsn1")
        #expect(body["user_data"] as? String == "machine:\n  type: controlplane\n")
        #expect(body["labels"] as? [String: String] == ["managed-by": "clusterctl", "cluster": "home", "pool": "cp", "role": "controlplane", "node": "home-cp-1"])
        #expect((body["networks"] as? [Int])?.count == 1)
        #expect((body["firewalls"] as? [[String: Int]])?.count == 1)
        #expect(body["placement_group"] as? Int != nil)
        #expect(server.userData == "machine:\n  type: controlplane\n")
        #expect(machine.addresses.count == 2, "public IPv4 first, then the private address")
        #expect(machine.addresses.first?.hasPrefix("203.0.113.") == true)
        #expect(machine.addresses.last?.hasPrefix("10.0.1.") == true)
    }

    @Test("five nodes: coalesced polling, request count per node, re-run sends no create")
    func clusterUpAndRerun() async throws {
        let env = try HetznerTestEnvironment()
        env.addSnapshot()
        let machines = try await env.up(env.homeRequests())
        #expect(machines.map(\.identity.node) == ["home-cp-1", "home-cp-2", "home-cp-3", "home-workers-1", "home-workers-2"])
        #expect(machines.allSatisfy { $0.phase == .running && !$0.addresses.isEmpty })
        let privateOnly = try #require(machines.first { $0.identity.node == "home-workers-2" })
        #expect(privateOnly.addresses.allSatisfy { $0.hasPrefix("10.0.1.") })
        let servers = env.model.servers
        #expect(servers.count == 5)
        #expect(servers.filter { $0.placementGroup != nil }.count == 3, "only control planes join the spread group")

        let requests = env.model.requests
        let perNode = requests.filter { $0.path.hasPrefix("/v1/servers") || $0.path == "/v1/actions" }.count
        #expect(requests.filter { $0.method == "POST" && $0.path == "/v1/servers" }.count == 5)
        let polls = requests.filter { $0.path == "/v1/actions" }.count
        #expect(polls <= 7, "action polls are shared by all nodes, not multiplied by them")
        print(
            "hetzner request budget: \(requests.count) requests for 5 nodes (\(perNode) on servers and actions, "
                + "\(String(format: "%.1f", Double(perNode) / 5)) per node; \(polls) coalesced GET /actions rounds)")

        // A second run finds everything and creates nothing.
        let before = env.model.requests.count
        let again = try await env.up(env.homeRequests())
        #expect(again.isEmpty)
        let rerun = env.model.requests.dropFirst(before)
        #expect(!rerun.contains { $0.method == "POST" })
        #expect(rerun.map(\.line) == [
            "GET /v1/images?type=snapshot&label_selector=\(Self.imageSelector)&page=1&per_page=50",
            "GET /v1/servers?label_selector=\(Self.clusterSelector)&page=1&per_page=50",
        ], "ids of the network, firewall and placement group are cached within a run")
    }

    @Test("injected 429 bursts, 503s, a reset and a create that failed after committing still converge without duplicates")
    func faultsConverge() async throws {
        let env = try HetznerTestEnvironment(retry: HTTPRetryPolicy(maxAttempts: 8))
        env.addSnapshot()
        env.model.inject(.rateLimited, count: 6, method: "GET", path: "/v1/actions")
        env.model.inject(.status(503, code: "unavailable"), count: 3, method: "GET", path: "/v1/servers")
        env.model.inject(.commitThenStatus(503), count: 1, method: "POST", path: "/v1/servers")
        env.model.inject(.dropConnection, count: 1, method: "POST", path: "/v1/firewalls")
        env.model.inject(.rateLimited, count: 4, method: "POST", path: "/v1/servers")
        let machines = try await env.up(env.homeRequests())
        #expect(machines.count == 5)
        let names = env.model.servers.map(\.name)
        #expect(names.count == 5)
        #expect(Set(names).count == 5, "no duplicate server")
        let statuses = env.model.requests.map(\.status)
        #expect(statuses.filter { $0 == 429 }.count == 10)
        #expect(statuses.filter { $0 == 503 }.count == 4)
        #expect(env.model.requests.contains { $0.status == 409 && $0.path == "/v1/servers" }, "the retried create met its own earlier success")
        #expect(env.clock.sleeps.contains { $0 >= .seconds(1) }, "rate limiting waited on the injected clock")
    }

    @Test("a real token bucket: a run that exhausts the hourly limit waits and finishes")
    func rateLimitBucket() async throws {
        let env = try HetznerTestEnvironment(rateLimit: 12)
        env.addSnapshot()
        let machines = try await env.up(env.homeRequests())
        #expect(machines.count == 5)
        let limited = env.model.requests.filter { $0.status == 429 }
        #expect(!limited.isEmpty)
        #expect(Set(env.model.servers.map(\.name)).count == 5)
        // 3600/12 = 300 s for one request to come back; the client waits that, not a fixed guess.
        #expect(env.clock.sleeps.contains { $0 >= .seconds(299) && $0 <= .seconds(301) })
    }

    @Test("user data over 32 KiB is refused before any request, naming node and size")
    func userDataLimit() async throws {
        let env = try HetznerTestEnvironment()
        let big = String(repeating: "x", count: 32 * 1024 + 1)
        let error = await #expect(throws: ClusterError.self) {
            try await env.provisioner.createMachine(env.request(pool: "cp", role: .controlPlane, index: 1, userData: big))
        }
        #expect(error?.message.contains("home-cp-1") == true)
        #expect(error?.message.contains("32769 bytes") == true)
        #expect(env.model.requests.isEmpty)
        // Exactly at the limit is accepted.
        env.addSnapshot()
        _ = try await env.provisioner.createMachine(env.request(pool: "cp", role: .controlPlane, index: 1, userData: String(repeating: "x", count: 32 * 1024)))
    }

    @Test("API errors reach the user with code, message, fields and the resource named")
    func apiErrors() async throws {
        let env = try HetznerTestEnvironment()
        env.model.setServerLimit(1)
        _ = try await env.provisioner.createMachine(env.request(pool: "cp", role: .controlPlane, index: 1))
        let limit = await #expect(throws: ClusterError.self) {
            try await env.provisioner.createMachine(env.request(pool: "cp", role: .controlPlane, index: 2))
        }
        #expect(limit?.message.contains("creating server home-cp-2 failed: resource_limit_exceeded: server limit exceeded") == true)
        #expect(limit?.hint?.contains("limit") == true)

        var bad = env.request(pool: "workers", role: .worker, index: 1)
        bad.size = MachineSize(serverType: "cx999")
        let invalid = await #expect(throws: ClusterError.self) { try await env.provisioner.createMachine(bad) }
        #expect(invalid?.message.contains("invalid_input") == true)
        #expect(invalid?.message.contains("field server_type: server type cx999 not found") == true)

        env.model.addServer(name: "home-workers-3", labels: [:])
        let taken = await #expect(throws: ClusterError.self) {
            try await env.provisioner.createMachine(env.request(pool: "workers", role: .worker, index: 3))
        }
        #expect(taken?.message.contains("home-workers-3") == true)
        #expect(taken?.message.contains("uniqueness_error") == true)
        #expect(env.model.servers.filter { $0.name == "home-workers-3" }.count == 1)
    }

    @Test("a failed action surfaces its error code and message")
    func actionError() async throws {
        let env = try HetznerTestEnvironment()
        env.model.failNextAction(command: "create_server", code: "server_create_failed", message: "no capacity in fsn1-dc14")
        let machine = try await env.provisioner.createMachine(env.request(pool: "cp", role: .controlPlane, index: 1))
        let error = await #expect(throws: ClusterError.self) { try await env.provisioner.waitUntilRunning(machine) }
        #expect(error?.message.contains("create_server on server home-cp-1 failed: server_create_failed: no capacity in fsn1-dc14") == true)
    }

    @Test("list pages through more than 50 servers by label selector")
    func pagination() async throws {
        let env = try HetznerTestEnvironment()
        for index in 1...60 {
            env.model.addServer(
                name: "home-w-\(index)", labels: ["managed-by": "clusterctl", "cluster": "home", "pool": "w", "role": "worker", "node": "home-w-\(index)"])
        }
        env.model.addServer(name: "other-w-1", labels: ["managed-by": "clusterctl", "cluster": "other", "pool": "w", "role": "worker", "node": "other-w-1"])
        let machines = try await env.provisioner.listMachines(cluster: "home")
        #expect(machines.count == 60)
        #expect(env.model.requests.map(\.line) == [
            "GET /v1/servers?label_selector=\(Self.clusterSelector)&page=1&per_page=50",
            "GET /v1/servers?label_selector=\(Self.clusterSelector)&page=2&per_page=50",
        ])
    }

    @Test("down deletes the machines and only what carries the cluster's labels")
    func down() async throws {
        let env = try HetznerTestEnvironment()
        env.addSnapshot()
        let machines = try await env.up(env.homeRequests())
        let ip = try await env.provisioner.assignFloatingIP(named: "home-ingress", cluster: "home", to: machines[3])
        #expect(ip.hasPrefix("198.51.100."))
        #expect(try await env.provisioner.floatingIPTarget(named: "home-ingress", cluster: "home") == machines[3].providerID)
        // Moving it costs one lookup and one assign; asking again for the same target costs one lookup.
        _ = try await env.provisioner.assignFloatingIP(named: "home-ingress", cluster: "home", to: machines[4])
        #expect(env.model.floatingIPServer("home-ingress").map(String.init) == machines[4].providerID)

        // Someone else's firewall in the same project.
        _ = try await env.client.createFirewall(HetznerCreateFirewall(name: "theirs", labels: ["team": "web"], rules: []))
        env.model.addServer(name: "unrelated", labels: ["team": "web"])

        for machine in machines { try await env.provisioner.deleteMachine(machine) }
        try await env.provisioner.deleteClusterResources(cluster: "home")
        #expect(try await env.provisioner.listMachines(cluster: "home").isEmpty)
        #expect(env.model.resourceNames == ["firewall:theirs"])
        #expect(env.model.servers.map(\.name) == ["unrelated"])
        // Deleting again succeeds (404 is gone).
        try await env.provisioner.deleteMachine(machines[0])
    }

    @Test("every request of up, floating IP, down and image build is valid against cloud.spec.json", .requiresReference(ReferenceData.hetznerOpenAPI))
    func openAPIValidation() async throws {
        let env = try HetznerTestEnvironment()
        let shell = HetznerRecordingShell()
        let builder = HetznerImageBuilder(
            client: env.client, waiter: env.provisioner.waiter, location: "fsn1", sshPublicKey: "ssh-ed25519 AAAAC3Nza test",
            connect: { _ in shell }, time: env.clock)
        _ = try await builder.build(HetznerTestEnvironment.image)
        let machines = try await env.up(env.homeRequests())
        _ = try await env.provisioner.assignFloatingIP(named: "home-ingress", cluster: "home", to: machines[0])
        try await env.provisioner.power(machines[1], "poweroff")
        _ = try await env.provisioner.waitUntilRunning(machines[1])
        for machine in machines { try await env.provisioner.deleteMachine(machine) }
        try await env.provisioner.deleteClusterResources(cluster: "home")
        // Error answers are checked for their documented shape too.
        _ = try? await env.client.server(id: 1)

        let records = env.model.requests
        guard let outcome = try HetznerSpecValidator.validate(records) else { return }
        #expect(outcome.checked == records.count)
        #expect(outcome.errors.isEmpty, "\(outcome.errors.prefix(20).joined(separator: "\n"))")
    }

    @Test("HCLOUD_ENDPOINT and the token variable the spec names")
    func environment() async throws {
        let env = try HetznerTestEnvironment()
        var settings = HetznerTestEnvironment.settings
        settings.token = .environment("MY_HCLOUD")
        let missing = #expect(throws: ClusterError.self) {
            try HetznerProvisioner(name: "hcloud", settings: settings, environment: ["HCLOUD_TOKEN": env.model.token])
        }
        #expect(missing?.message.contains("MY_HCLOUD") == true)
        #expect(missing?.message.contains(env.model.token) == false)
        let provisioner = try HetznerProvisioner(
            name: "hcloud", settings: settings, environment: ["MY_HCLOUD": env.model.token, "HCLOUD_ENDPOINT": env.server.baseURL + "/v1"],
            time: env.clock)
        #expect(provisioner.client.endpoint == env.server.baseURL + "/v1")
        #expect(try await provisioner.listMachines(cluster: "home").isEmpty)
        let wrong = try HetznerProvisioner(
            name: "hcloud", settings: settings, environment: ["MY_HCLOUD": "nope", "HCLOUD_ENDPOINT": env.server.baseURL + "/v1"], time: env.clock)
        let unauthorized = await #expect(throws: ClusterError.self) { try await wrong.listMachines(cluster: "home") }
        #expect(unauthorized?.message.contains("unauthorized") == true)
        #expect(unauthorized?.hint?.contains("token") == true)
    }
}

@Suite("The OpenAPI check itself")
struct HetznerSpecValidatorTests {
    @Test("flags unknown paths, wrong methods, undeclared parameters and invalid bodies", .requiresReference(ReferenceData.hetznerOpenAPI))
    func rejectsBadTraffic() throws {
        func record(_ method: String, _ path: String, query: [[String]] = [], body: String? = nil) -> HetznerRecordedRequest {
            HetznerRecordedRequest(method: method, path: path, query: query, body: body, status: 500, response: "")
        }
        let bad = [
            record("GET", "/v1/serverz"),
            record("PATCH", "/v1/servers/1"),
            record("GET", "/v1/servers", query: [["label", "x"]]),
            record("POST", "/v1/servers", body: "{\"name\":\"a\",\"image\":\"1\"}"),
            record("POST", "/v1/servers", body: "{\"name\":\"a\",\"image\":\"1\",\"server_type\":\"cx22\",\"networks\":[\"x\"]}"),
            record("POST", "/v1/placement_groups", body: "{\"name\":\"a\",\"type\":\"pack\"}"),
            record("GET", "/v1/actions"),
        ]
        guard let outcome = try HetznerSpecValidator.validate(bad) else { return }
        #expect(outcome.errors.count >= bad.count, "\(outcome.errors)")
        for index in bad.indices { #expect(outcome.errors.contains { $0.hasPrefix("#\(index) ") }, "record \(index) not flagged") }
        let good = [record("POST", "/v1/servers", body: "{\"name\":\"a\",\"image\":\"1\",\"server_type\":\"cx22\",\"networks\":[5]}")]
        #expect(try HetznerSpecValidator.validate(good)?.errors == [])
    }
}

@Suite("Hetzner action waiter")
struct HetznerActionWaiterTests {
    @Test("a cancelled wait ends at once; other waiters keep polling to the end")
    func cancellation() async throws {
        let env = try HetznerTestEnvironment()
        let first = try await env.provisioner.createMachine(env.request(pool: "cp", role: .controlPlane, index: 1))
        let second = try await env.provisioner.createMachine(env.request(pool: "cp", role: .controlPlane, index: 2))
        let provisioner = env.provisioner
        let cancelled = Task { try await provisioner.waitUntilRunning(first) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        let running = try await provisioner.waitUntilRunning(second)
        #expect(running.phase == .running)
    }
}
