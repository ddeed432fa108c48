import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// `clusterctl up` against real backends from nothing to every node Ready: the Hetzner API model,
/// Talos API peers (one apid per server, on the server's own loopback address) and a Kubernetes
/// API peer on the endpoint's floating IP, coupled into one world (``LoopbackCloud``). Nothing in
/// the binary knows it talks to loopback: it dials the addresses the Hetzner API hands out.
@Suite(.serialized) struct CLIBringUpOverTheWireTests {
    /// A second bundle, for a cluster whose secrets are not the ones the nodes trust.
    static let foreignSecrets: SecretsBundle? = try? SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 13, patch: 9))

    struct World {
        let cli: CLIHarness
        let cloud: LoopbackCloud
        let secrets: SecretsBundle

        /// A cluster `wire` on one Hetzner provider with `controlPlanes` and `workers`, its
        /// secrets bundle in place (as `clusterctl secrets import` leaves it) and the nodes
        /// trusting `trusted` (the cluster's own bundle unless told otherwise).
        init(controlPlanes: Int = 3, workers: Int = 1, trusted: SecretsBundle? = nil) throws {
            let secrets = try #require(TalosPeerFixture.sharedSecrets)
            self.secrets = secrets
            cli = try CLIHarness()
            try cli.write("clusters/wire.yaml", LoopbackCloud.spec(cluster: "wire", controlPlanes: controlPlanes, workers: workers))
            try SecretsStore(directory: cli.home.appendingPathComponent("wire")).save(secrets)
            cloud = try LoopbackCloud(secrets: trusted ?? secrets)
            let spec = try SpecLoader.load(path: cli.workDirectory.appendingPathComponent("clusters/wire.yaml").path).spec
            try cloud.addTalosSnapshot(for: spec)
        }

        /// Runs clusterctl against this world on a thread of its own: waiting for the process
        /// must not hold one of the few threads the peers' handlers run on.
        func run(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> CLIHarness.Output {
            let cli = cli
            let environment = cloud.environment.merging(extra) { _, new in new }
            return try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread { continuation.resume(with: Result { try cli.run(arguments, environment: environment) }) }
            }
        }

        /// `up` with short polls.
        func up(_ extra: [String] = [], environment: [String: String] = [:]) async throws -> CLIHarness.Output {
            try await run(["up", "wire", "--poll-interval", "200ms", "--timeout", "120s"] + extra, environment: environment)
        }

        /// The public address of the server with this name.
        func address(of server: String) throws -> String {
            try #require(cloud.hetzner.servers.first { $0.name == server }?.publicIPv4, "no server \(server)")
        }

        /// The hostnames of the etcd members of the world's one etcd cluster.
        func etcdMembers() async throws -> [String] {
            let client = try TalosMachineClient(configuration: .init(credentials: try TalosCredentials.issued(from: secrets)))
            do {
                let members = try await etcdMembers(client)
                await client.shutdown()
                return members
            } catch {
                await client.shutdown()
                throw error
            }
        }

        private func etcdMembers(_ client: TalosMachineClient) async throws -> [String] {
            let running = try #require(cloud.hetzner.servers.first { $0.name.hasPrefix("wire-cp") && cloud.talos.isUp($0.publicIPv4 ?? "") })
            let machine = ObservedMachine(
                providerID: String(running.id), provider: "hcloud",
                identity: NodeIdentity(cluster: "wire", pool: "cp", role: .controlPlane, node: running.name), phase: .running,
                addresses: [try #require(running.publicIPv4)])
            return try await client.etcdMembers(via: machine).map(\.hostname).sorted()
        }

        func serverCreates() -> Int {
            cloud.hetzner.requests.filter { $0.method == "POST" && $0.path.hasSuffix("/servers") && $0.status < 300 }.count
        }

        func stop() async {
            await cloud.stop()
            cli.cleanUp()
        }
    }

    @Test func upBringsEveryNodeReadyOnceAndASecondUpChangesNothing() async throws {
        let world = try World()
        // One control plane boots without reading its user data, as a libvirt or Proxmox machine
        // does: it waits in maintenance mode for the config over the insecure API.
        world.cloud.ignoreUserData(of: "wire-cp-2")
        let up = try await world.up()
        #expect(up.status == 0, "\(up.stderr)\n\(up.stdout)\n\(world.cloud.failures)")
        #expect(up.stdout.contains("wire: 4 of 4 nodes Ready, etcd bootstrapped on wire-cp-1, healthy"), "\(up.stdout)")
        #expect(up.stderr.contains("wire-cp-2") && up.stderr.contains("applying machine config (maintenance mode)"), "\(up.stderr)")
        #expect(world.cloud.talos.bootstrapCount == 1)
        #expect(world.cloud.talos.etcdClusterCount == 1)
        for node in ["wire-cp-1", "wire-cp-2", "wire-cp-3", "wire-worker-1"] {
            #expect(world.cloud.kubernetes.model.node(node)?.ready == true, "\(node)")
        }
        #expect(world.serverCreates() == 4)

        let again = try await world.up()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("wire: 4 of 4 nodes Ready, healthy"), "\(again.stdout)")
        #expect(!again.stdout.contains("bootstrapped on"), "\(again.stdout)")
        #expect(world.cloud.talos.bootstrapCount == 1, "a second up never bootstraps again")
        #expect(world.serverCreates() == 4, "a second up creates nothing")
        await world.stop()
    }

    @Test func nodesThatDoNotTrustTheClusterSecretsAreRefusedClearly() async throws {
        let world = try World(controlPlanes: 1, workers: 0, trusted: try #require(Self.foreignSecrets))
        let up = try await world.up()
        #expect(up.status != 0)
        #expect(up.stderr.contains("✘ wire-cp-1:") && up.stderr.contains("TLS handshake failed"), "\(up.stderr)")
        #expect(up.stderr.contains("hint:"), "\(up.stderr)")
        #expect(!up.stderr.contains("Fatal error") && !up.stderr.contains("Stack dump"), "\(up.stderr)")
        #expect(world.cloud.talos.bootstrapCount == 0)
        await world.stop()
    }

    @Test func aNodeThatNeverTurnsReadyTimesOutNamingItsLastState() async throws {
        let world = try World(controlPlanes: 1, workers: 1)
        world.cloud.holdNotReady("wire-worker-1")
        let up = try await world.up(["--node-timeout", "10s"])
        #expect(up.status == 1, "\(up.stderr)")
        #expect(up.stderr.contains("✘ wire-worker-1:") && up.stderr.contains("did not finish within 10.0s"), "\(up.stderr)")
        #expect(up.stderr.contains("last state seen: Kubernetes node NotReady"), "\(up.stderr)")
        #expect(up.stdout.contains("wire: 1 of 2 nodes Ready, etcd bootstrapped on wire-cp-1, with failures"), "\(up.stdout)")
        #expect(!up.stderr.contains("Fatal error"), "\(up.stderr)")
        await world.stop()
    }

    @Test func statusShowsTalosAndKubernetesHealthAndUpLeavesClientConfigs() async throws {
        let world = try World(controlPlanes: 1, workers: 1)
        let up = try await world.up()
        #expect(up.status == 0, "\(up.stderr)")
        let directory = world.cli.home.appendingPathComponent("wire")
        for name in ["talosconfig", "kubeconfig"] {
            let path = directory.appendingPathComponent(name).path
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode & 0o777 == 0o600, "\(name) is \(String(mode, radix: 8))")
        }
        let kubeconfig = try Kubeconfig(parsing: try String(contentsOf: directory.appendingPathComponent("kubeconfig"), encoding: .utf8))
        #expect(kubeconfig.server == "https://\(world.cloud.endpointAddress):6443")
        #expect(!up.stdout.contains("PRIVATE KEY") && !up.stderr.contains("PRIVATE KEY"))

        let status = try await world.run(["status", "wire", "-o", "json"])
        #expect(status.status == 0, "\(status.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(document["api_server"] as? String == "up")
        #expect(document["etcd_members"] as? [String] == ["wire-cp-1"])
        let nodes = try #require(document["nodes"] as? [[String: Any]])
        #expect(nodes.count == 2)
        for node in nodes {
            #expect(node["talos"] as? String == "running", "\(node)")
            #expect(node["kubernetes"] as? String == "Ready", "\(node)")
            #expect(node["talos_version"] as? String == "v1.13.9", "\(node)")
            let services = try #require(node["services"] as? [[String: Any]], "\(node)")
            #expect(services.contains { $0["id"] as? String == "kubelet" && $0["state"] as? String == "Running" })
        }
        let cp = try #require(nodes.first { $0["name"] as? String == "wire-cp-1" }?["services"] as? [[String: Any]])
        #expect(cp.contains { $0["id"] as? String == "etcd" && $0["healthy"] as? Bool == true }, "\(cp)")

        // --merge keeps the person's other contexts and switches to the cluster's.
        let home = world.cli.workDirectory.appendingPathComponent("person")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".kube"), withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: Config\nclusters:\n  - name: work\n    cluster:\n      server: https://work.example:6443\ncurrent-context: work\n"
            .write(to: home.appendingPathComponent(".kube/config"), atomically: true, encoding: .utf8)
        let merged = try await world.up(["--merge"], environment: ["HOME": home.path, "KUBECONFIG": "", "TALOSCONFIG": ""])
        #expect(merged.status == 0, "\(merged.stderr)")
        let personal = try String(contentsOf: home.appendingPathComponent(".kube/config"), encoding: .utf8)
        #expect(personal.contains("https://work.example:6443") && personal.contains("current-context: admin@wire"), "\(personal)")
        let talosconfig = try String(contentsOf: home.appendingPathComponent(".talos/config"), encoding: .utf8)
        #expect(talosconfig.contains("context: wire"), "\(talosconfig)")

        // The node's kubelet stops posting: status says so.
        world.cloud.holdNotReady("wire-worker-1")
        world.cloud.kubernetes.model.setNodeReady("wire-worker-1", false)
        let table = try await world.run(["status", "wire"])
        #expect(table.stdout.contains("wire-worker-1") && table.stdout.contains("NotReady"), "\(table.stdout)")
        #expect(table.stdout.contains("API server up"), "\(table.stdout)")
        await world.stop()
    }

    @Test func controlPlaneRemovalKeepsTheMachineWhenEtcdCannotDropItsMemberThenAddBringsOneBack() async throws {
        let world = try World(controlPlanes: 3, workers: 0)
        let up = try await world.up()
        #expect(up.status == 0, "\(up.stderr)")
        #expect(try await world.etcdMembers() == ["wire-cp-1", "wire-cp-2", "wire-cp-3"])

        // The control planes that stay are down: nobody can remove wire-cp-3's member.
        let staying = [try world.address(of: "wire-cp-1"), try world.address(of: "wire-cp-2")]
        for address in staying { world.cloud.talos.update(address) { $0.up = false } }
        let refused = try await world.run(["node", "remove", "wire", "wire-cp-3", "--retries", "2", "--poll-interval", "200ms", "--timeout", "60s"])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("the etcd member of wire-cp-3 could not be removed, so its machine was kept"), "\(refused.stderr)")
        #expect(world.cloud.hetzner.servers.contains { $0.name == "wire-cp-3" }, "the machine is kept")
        #expect(try world.cli.read("clusters/wire.yaml").contains("count: 3"), "the pool keeps its count")

        for address in staying { world.cloud.talos.update(address) { $0.up = true } }
        let removed = try await world.run(["node", "remove", "wire", "wire-cp-3", "--poll-interval", "200ms", "--timeout", "60s"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stderr.contains("etcd member removed through wire-cp-"), "\(removed.stderr)")
        #expect(!world.cloud.hetzner.servers.contains { $0.name == "wire-cp-3" })
        #expect(try await world.etcdMembers() == ["wire-cp-1", "wire-cp-2"])
        #expect(world.cloud.kubernetes.model.node("wire-cp-3") == nil, "its Kubernetes node is deleted")

        let added = try await world.run(["node", "add", "wire", "--pool", "cp", "--poll-interval", "200ms", "--timeout", "60s"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try await world.etcdMembers().count == 3)
        #expect(world.cloud.talos.bootstrapCount == 1, "adding a control plane never bootstraps again")
        #expect(world.cloud.talos.etcdClusterCount == 1)
        await world.stop()
    }
}

/// What real backends cannot do is refused before anything changes.
@Suite struct CLIRealBackendLimitTests {
    @Test func aSpecWithGitOpsButNoFluxPinIsRefusedPastBootstrapBeforeAnythingChanges() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let up = try cli.run(["up", "home"], environment: ["HCLOUD_TOKEN": "unused", "HCLOUD_ENDPOINT": "http://127.0.0.1:9/v1"])
        #expect(up.status == 3, "\(up.stderr)")
        #expect(up.stderr.contains("error: cluster home has gitops: without gitops.flux"), "\(up.stderr)")
        #expect(up.stderr.contains("--until bootstrap"), "\(up.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("home/secrets.yaml").path), "nothing was created")
    }
}
