public import ClusterKit
import Foundation
public import Provisioners

/// A small Talos cluster on a ``TalosAPIPeer`` with a ``TalosMachineClient`` holding an os:admin
/// certificate: control planes `cp-1…` at 10.5.0.11…, workers `worker-1…` at 10.5.0.21….
public struct TalosPeerFixture: Sendable {
    public let cluster: String
    public let secrets: SecretsBundle
    public let peer: TalosAPIPeer
    public let client: TalosMachineClient
    public let controlPlanes: [ObservedMachine]
    public let workers: [ObservedMachine]

    /// One secrets bundle for every fixture of a test process: generating one costs a 4096-bit RSA key.
    public static let sharedSecrets: SecretsBundle? = try? SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 13, patch: 9))

    /// Starts the peer with every node configured (as from user data) or in maintenance mode.
    public static func start(
        cluster: String = "home", controlPlanes: Int = 3, workers: Int = 1, maintenance: Bool = false,
        timings: TalosAPIPeer.Timings = TalosAPIPeer.Timings()
    ) async throws -> TalosPeerFixture {
        guard let secrets = sharedSecrets else { throw TestSupportError("generating the cluster secrets failed") }
        let peer = TalosAPIPeer(secrets: secrets, timings: timings)
        func machine(_ index: Int, role: NodeRole) -> ObservedMachine {
            let name = role == .controlPlane ? "cp-\(index)" : "worker-\(index)"
            let address = "10.5.0.\(role == .controlPlane ? 10 + index : 20 + index)"
            return ObservedMachine(
                providerID: "peer-\(name)", provider: "peer", identity: NodeIdentity(cluster: cluster, pool: role.rawValue, role: role, node: name),
                phase: .running, addresses: [address])
        }
        let cps = (1...max(1, controlPlanes)).map { machine($0, role: .controlPlane) }
        let ws = workers > 0 ? (1...workers).map { machine($0, role: .worker) } : []
        for node in cps + ws {
            let config = maintenance ? nil : machineConfig(role: node.identity.role, cluster: cluster, secrets: secrets)
            try await peer.addNode(address: node.addresses[0], hostname: node.identity.node, config: config)
        }
        let client = try TalosMachineClient(configuration: .init(
            credentials: try TalosCredentials.issued(from: secrets), connectTo: peer.connectTo, callTimeout: .seconds(10)))
        return TalosPeerFixture(cluster: cluster, secrets: secrets, peer: peer, client: client, controlPlanes: cps, workers: ws)
    }

    /// Runs `body` against a fresh fixture and shuts it down afterwards, also when `body` throws.
    public static func with<Result: Sendable>(
        controlPlanes: Int = 3, workers: Int = 1, maintenance: Bool = false, timings: TalosAPIPeer.Timings = TalosAPIPeer.Timings(),
        _ body: (TalosPeerFixture) async throws -> Result
    ) async throws -> Result {
        let fixture = try await start(controlPlanes: controlPlanes, workers: workers, maintenance: maintenance, timings: timings)
        do {
            let result = try await body(fixture)
            await fixture.shutdown()
            return result
        } catch {
            await fixture.shutdown()
            throw error
        }
    }

    /// A client with other credentials or an endpoint; the caller shuts it down.
    public func client(credentials: TalosCredentials? = nil, endpoint: String? = nil) throws -> TalosMachineClient {
        try TalosMachineClient(configuration: .init(
            credentials: try credentials ?? TalosCredentials.issued(from: secrets), endpoint: endpoint, connectTo: peer.connectTo,
            callTimeout: .seconds(10)))
    }

    /// The smallest machine config Talos' rules here look at: `machine.type`, the cluster's
    /// name, id and control-plane endpoint (the shape of ../shared/reference/talos/examples).
    public static func machineConfig(role: NodeRole, cluster: String, secrets: SecretsBundle) -> MachineConfigPayload {
        MachineConfigPayload("""
            version: v1alpha1
            machine:
              type: \(role.rawValue)
            cluster:
              id: \(secrets.clusterID)
              clusterName: \(cluster)
              controlPlane:
                endpoint: https://10.5.0.10:6443
            """)
    }

    public func config(for machine: ObservedMachine) -> MachineConfigPayload {
        Self.machineConfig(role: machine.identity.role, cluster: cluster, secrets: secrets)
    }

    public func shutdown() async {
        await client.shutdown()
        await peer.shutdown()
    }
}
