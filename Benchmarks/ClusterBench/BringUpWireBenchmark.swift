import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners

/// A whole `up` over the wire: the executor with the real backends (Hetzner over libcurl, the
/// Talos client over gRPC with Ed25519 mutual TLS, the Kubernetes client over libcurl with a
/// client certificate) against ``LoopbackCloud`` with 30 nodes (3 control planes, 27 workers),
/// from nothing to every node Ready and the health check passed. Reports the calls each API took
/// per node and the wall time; the world's own delays (Hetzner actions 200 ms, Kubernetes Ready
/// 100 ms after joining, etcd join 20 ms and learner promotion 50 ms) and the 200 ms poll interval
/// set a floor, so the figures show the clients' overhead on top of them.
enum BringUpWireBenchmark {
    static func run() async throws -> String {
        guard let secrets = TalosPeerFixture.sharedSecrets else { throw BenchmarkFailure("generating the cluster secrets failed") }
        let cloud = try LoopbackCloud(
            secrets: secrets, readyDelay: .milliseconds(100), timings: .init(joinDelay: .milliseconds(20), learnerPromotion: .milliseconds(50)))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-bench-\(UUID().uuidString)", isDirectory: true)
        do {
            let result = try await bringUp(cloud, secrets: secrets, directory: directory)
            await cloud.stop()
            try? FileManager.default.removeItem(at: directory)
            return result
        } catch {
            await cloud.stop()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private static func bringUp(_ cloud: LoopbackCloud, secrets: SecretsBundle, directory: URL) async throws -> String {
        let nodes = 30
        let file = directory.appendingPathComponent("clusters/wire.yaml")
        // The spec names images/default.yaml, which is looked up beside clusters/.
        try SecureFile.ensureDirectory(file.deletingLastPathComponent())
        try FileManager.default.copyItem(at: CLIHarness.packageRoot().appendingPathComponent("images"), to: directory.appendingPathComponent("images"))
        try SecureFile.write(LoopbackCloud.spec(cluster: "wire", controlPlanes: 3, workers: nodes - 3), to: file)
        let spec = try SpecLoader.load(path: file.path).spec
        try cloud.addTalosSnapshot(for: spec)
        let store = SecretsStore(directory: directory.appendingPathComponent("state", isDirectory: true))
        try store.save(secrets)
        var backend = RealBackends.make(spec: spec, store: store, configs: LazyTalosConfigSource(spec: spec, store: store), environment: cloud.environment)
        let talos = CountingTalosAPI(backend.talos)
        backend.talos = talos

        let start = ContinuousClock.now
        let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        let plan = Planner.plan(spec: spec, observed: observed)
        let executor = ClusterExecutor(spec: spec, backend: backend, options: .init(pollInterval: .milliseconds(200)))
        let report = try await executor.apply(plan, observed: observed)
        let wall = ContinuousClock.now - start
        guard report.succeeded, report.healthy else {
            throw BenchmarkFailure("the bring-up failed: \(report.failures) \(report.nodes.filter { $0.state == .failed }.map { "\($0.node): \($0.message ?? "")" })")
        }
        let kubernetes = cloud.kubernetes.model.requests.count
        let hetzner = cloud.hetzner.requests.count
        func perNode(_ count: Int) -> String { String(format: "%.1f", Double(count) / Double(nodes)) }
        return [
            "Full bring-up over the wire (30 nodes: Hetzner model, Talos API peers, Kubernetes API peer; real clients)",
            "| API | calls | calls/node |",
            "|---|---|---|",
            "| Hetzner | \(hetzner) | \(perNode(hetzner)) |",
            "| Talos | \(talos.calls) | \(perNode(talos.calls)) |",
            "| Kubernetes | \(kubernetes) | \(perNode(kubernetes)) |",
            String(format: "wall time from nothing to healthy: %.2f s (%d nodes Ready)", wall.inSeconds, report.nodes.filter { $0.state == .ready }.count),
        ].joined(separator: "\n")
    }
}
