public import ClusterKit
import Foundation

extension TalosPeerFixture {
    /// Runs `body` against a fixture whose etcd calls go to a real etcd cluster: one member per
    /// control plane (`cp-1`...), bootstrapped and with a leader before `body` starts. Both are
    /// shut down afterwards (every etcd process killed), also when `body` throws.
    public static func withRealEtcd<Result: Sendable>(
        controlPlanes: Int = 3, workers: Int = 0, timings: TalosPeerEtcd.Timings = TalosPeerEtcd.Timings(),
        _ body: (TalosPeerFixture, TalosPeerEtcd) async throws -> Result
    ) async throws -> Result {
        let fixture = try await start(controlPlanes: controlPlanes, workers: workers)
        let etcd: EtcdTestCluster
        do {
            etcd = try await EtcdTestCluster.start(fixture.controlPlanes.map(\.identity.node))
        } catch {
            await fixture.shutdown()
            throw error
        }
        let backend = fixture.peer.useRealEtcd(etcd, timings: timings)
        do {
            let result = try await body(fixture, backend)
            await fixture.shutdown()
            etcd.shutdown()
            return result
        } catch {
            await fixture.shutdown()
            etcd.shutdown()
            throw error
        }
    }
}
