import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners

/// 30 nodes (3 control planes, 27 workers) on the loopback Talos API peer, all answering at once:
/// the Talos calls one `up` makes per node (maintenance apply, status polls, services, etcd
/// membership on control planes, one bootstrap, one kubeconfig), over gRPC with Ed25519 mutual
/// TLS. Reports calls per node and wall time, so the client's own overhead shows.
enum TalosWireBenchmark {
    static func run() async throws -> String {
        var report = ["Talos machine API over the wire (loopback peer, Ed25519 mTLS, one connection per node)"]
        report.append("scenario                 nodes  calls  calls/node wall           per call")
        for round in ["cold (new connections)", "warm (connections kept)"] {
            report.append(try await scenario(label: round))
        }
        return report.joined(separator: "\n")
    }


    private static func scenario(label: String) async throws -> String {
        let fixture = try await TalosPeerFixture.start(
            controlPlanes: 3, workers: 27, maintenance: true, timings: .init(joinDelay: .milliseconds(20), learnerPromotion: .milliseconds(50)))
        defer { Task { await fixture.shutdown() } }
        let nodes = fixture.controlPlanes + fixture.workers
        let clock = ContinuousClock()
        if label.hasPrefix("warm") {
            // Open every connection first (secure and maintenance) so only the calls are timed.
            _ = try await withThrowingTaskGroup(of: Void.self) { group in
                for node in nodes { group.addTask { _ = try? await fixture.client.status(of: node) } }
                try await group.waitForAll()
            }
        }
        let start = clock.now
        let calls = try await withThrowingTaskGroup(of: Int.self) { group in
            for node in nodes {
                group.addTask {
                    var calls = 0
                    let client = fixture.client
                    _ = try await client.status(of: node)  // mutual TLS fails, then the insecure Version
                    calls += 2
                    try await client.applyConfiguration(fixture.config(for: node), to: node, insecure: true)
                    calls += 1
                    while try await client.status(of: node).stage != .running {
                        calls += 1
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    calls += 1
                    _ = try await client.services(of: node)
                    calls += 1
                    if node.identity.role == .controlPlane {
                        if node == fixture.controlPlanes[0] {
                            _ = try await client.etcdMembers(via: node)
                            _ = try await client.bootstrap(node)
                            _ = try await client.kubeconfig(via: node)
                            calls += 3
                        }
                        while try await client.etcdMembers(via: node).filter({ !$0.isLearner }).count < 3 {
                            calls += 1
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        calls += 1
                    }
                    return calls
                }
            }
            return try await group.reduce(0, +)
        }
        let wall = clock.now - start
        return [
            label.padding(toLength: 25, withPad: " ", startingAt: 0),
            "\(nodes.count)".padding(toLength: 7, withPad: " ", startingAt: 0),
            "\(calls)".padding(toLength: 7, withPad: " ", startingAt: 0),
            String(format: "%-11.1f", Double(calls) / Double(nodes.count)),
            String(format: "%-11.1f", wall.inSeconds * 1000) + " ms",
            String(format: "%.2f", wall.inSeconds * 1000 / Double(calls)) + " ms",
        ].joined()
    }
}
