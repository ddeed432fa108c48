import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// Under `--simulate` the nodes hand out an admin kubeconfig signed with the cluster's own bundle,
/// as Talos does with the secrets in its machine config.
@Suite struct SimulatedKubeconfigTests {
    @Test func aSimulatedControlPlaneHandsOutAKubeconfigFromTheClusterBundle() throws {
        let secrets = try #require(TalosPeerFixture.sharedSecrets)
        let spec = try Fixtures.hybridSpec()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-simkube-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = SecretsStore(directory: directory)
        try store.save(secrets)
        let world = SimulatedWorld(state: SimulatorState(seed: 7)) { _ in }
        let backend = ClusterBackend.simulated(spec: spec, world: world, configs: LazyTalosConfigSource(spec: spec, store: store))
        let text = try SimulationRunLoop(clock: world.clock).run { () async throws -> String in
            let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
            let executor = ClusterExecutor(spec: spec, backend: backend, options: .init(until: .bootstrap))
            let report = try await executor.apply(Planner.plan(spec: spec, observed: observed), observed: observed)
            guard report.succeeded else { throw ClusterError(.talos, "the simulated bring-up failed: \(report.failures)") }
            var machines: [ObservedMachine] = []
            for provisioner in backend.provisioners.values { machines += try await provisioner.listMachines(cluster: spec.name) }
            let controlPlane = try #require(machines.first { $0.identity.role == .controlPlane })
            return try await backend.talos.kubeconfig(via: controlPlane)
        }
        let kubeconfig = try Kubeconfig(parsing: text)
        #expect(kubeconfig.certificateAuthorityPEM == secrets.kubernetesCA.certificatePEM)
        #expect(kubeconfig.server.hasPrefix("https://"))
    }
}
