import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners

/// 30 nodes (3 control planes, 27 workers) on the loopback Talos API peer, all answering at once,
/// over gRPC with Ed25519 mutual TLS:
/// - bring-up: the Talos calls one `up` makes per node (status probes, the maintenance apply,
///   status polls until running, services, etcd membership on control planes, one bootstrap, one
///   kubeconfig); wall time includes the peer's join and learner-promotion delays (20 and 50 ms).
/// - polling: 20 status + services rounds per node on kept connections, the client's own overhead.
enum TalosWireBenchmark {
    static func run() async throws -> String {
        try await TalosPeerFixture.with(
            controlPlanes: 3, workers: 27, maintenance: true, timings: .init(joinDelay: .milliseconds(20), learnerPromotion: .milliseconds(50))
        ) { fixture in
            let nodes = fixture.controlPlanes + fixture.workers
            return [
                "Talos machine API over the wire (30 nodes on the loopback peer, Ed25519 mutual TLS)",
                row("scenario", "calls", "calls/node", "wall", "mean call"),
                try await bringUp(fixture, nodes),
                try await polling(fixture, nodes),
            ].joined(separator: "\n")
        }
    }

    /// Counts calls and the time spent inside them.
    private struct Tally: Sendable {
        var calls = 0
        var busy = Duration.zero

        mutating func time<T>(_ body: () async throws -> T) async rethrows -> T {
            let start = ContinuousClock.now
            defer {
                calls += 1
                busy += ContinuousClock.now - start
            }
            return try await body()
        }

        static func + (lhs: Tally, rhs: Tally) -> Tally { Tally(calls: lhs.calls + rhs.calls, busy: lhs.busy + rhs.busy) }
    }

    private static func bringUp(_ fixture: TalosPeerFixture, _ nodes: [ObservedMachine]) async throws -> String {
        let start = ContinuousClock.now
        let tally = try await withThrowingTaskGroup(of: Tally.self) { group in
            for node in nodes {
                group.addTask {
                    var tally = Tally()
                    let client = fixture.client
                    _ = try await tally.time { try await client.status(of: node) }
                    _ = try await tally.time { try await client.applyConfiguration(fixture.config(for: node), to: node, insecure: true) }
                    while try await tally.time({ try await client.status(of: node) }).stage != .running {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    _ = try await tally.time { try await client.services(of: node) }
                    guard node.identity.role == .controlPlane else { return tally }
                    if node == fixture.controlPlanes[0] {
                        _ = try await tally.time { try await client.etcdMembers(via: node) }
                        _ = try await tally.time { try await client.bootstrap(node) }
                        _ = try await tally.time { try await client.kubeconfig(via: node) }
                    }
                    while try await tally.time({ try await client.etcdMembers(via: node) }).filter({ !$0.isLearner }).count < 3 {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    return tally
                }
            }
            return try await group.reduce(Tally(), +)
        }
        return row("bring-up (maintenance to etcd)", tally, nodes: nodes.count, wall: ContinuousClock.now - start)
    }

    private static func polling(_ fixture: TalosPeerFixture, _ nodes: [ObservedMachine]) async throws -> String {
        let start = ContinuousClock.now
        let tally = try await withThrowingTaskGroup(of: Tally.self) { group in
            for node in nodes {
                group.addTask {
                    var tally = Tally()
                    for _ in 0..<20 {
                        _ = try await tally.time { try await fixture.client.status(of: node) }
                        _ = try await tally.time { try await fixture.client.services(of: node) }
                    }
                    return tally
                }
            }
            return try await group.reduce(Tally(), +)
        }
        return row("polling (status + services)", tally, nodes: nodes.count, wall: ContinuousClock.now - start)
    }

    private static func row(_ label: String, _ tally: Tally, nodes: Int, wall: Duration) -> String {
        row(
            label, "\(tally.calls)", String(format: "%.1f", Double(tally.calls) / Double(nodes)), String(format: "%.0f ms", wall.inSeconds * 1000),
            String(format: "%.2f ms", tally.busy.inSeconds * 1000 / Double(max(1, tally.calls))))
    }

    private static func row(_ columns: String...) -> String {
        zip(columns, [32, 8, 12, 10, 10]).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined()
    }
}
