import ClusterKit
import Foundation

/// `Planner.plan` at 100, 1,000 and 10,000 nodes, for an empty world (everything to create), a
/// converged one (everything exists), and one shrinking by a tenth (deletes) with a duplicated
/// name: the least CPU time of several runs (the machine is shared; the minimum is what the
/// planner itself costs), the cost per node, and the growth from each size to the next (10x the
/// nodes should cost about 10x the time, not 100x).
enum PlannerBenchmark {
    static func run() throws -> String {
        var lines = ["## Planner cost (CPU time, best of 7)", "",
                     "| nodes | empty world | converged | shrinking + duplicate | per node (converged) | growth vs previous size |",
                     "|---:|---:|---:|---:|---:|---:|"]
        var previous: Double?
        for size in [100, 1_000, 10_000] {
            let spec = try SpineBenchmark.spec(nodes: size)
            let empty = ObservedCluster(machines: [])
            let desired = Planner.plan(spec: spec, observed: empty).desired
            let machines = desired.enumerated().map { index, node in
                ObservedMachine(
                    providerID: "m-\(index)", provider: node.provider, identity: node.identity, phase: .running, addresses: ["10.0.0.1"],
                    size: node.size, location: node.location)
            }
            let converged = ObservedCluster(machines: machines, etcdBootstrapped: true)
            var shrinkingSpec = spec
            shrinkingSpec.pools = spec.pools.map { pool in
                var pool = pool
                pool.count -= pool.count / 10
                return pool
            }
            let duplicate = machines.last.map { copy in
                var copy = copy
                copy.providerID = "m-copy"
                return copy
            }
            let shrinking = ObservedCluster(machines: machines + (duplicate.map { [$0] } ?? []), etcdBootstrapped: true)

            let emptyTime = best { _ = Planner.plan(spec: spec, observed: empty) }
            let convergedTime = best {
                let plan = Planner.plan(spec: spec, observed: converged)
                precondition(plan.changes.isEmpty, "a converged cluster plans no change")
            }
            let shrinkingTime = best {
                let plan = Planner.plan(spec: shrinkingSpec, observed: shrinking)
                precondition(plan.duplicates.count == 1, "the duplicate is reported")
            }
            let growth = previous.map { String(format: "%.1fx", convergedTime / $0) } ?? "-"
            previous = convergedTime
            lines.append(
                "| \(size) | \(ms(emptyTime)) | \(ms(convergedTime)) | \(ms(shrinkingTime)) | \(String(format: "%.2f µs", convergedTime / Double(size) * 1e6)) | \(growth) |")
        }
        lines.append("")
        lines.append("Linear cost means a growth near 10x per step (sorting adds a log factor); the old planner grew about 100x (10k nodes: 4.8 s).")
        return lines.joined(separator: "\n")
    }

    private static func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

    /// The least CPU time (user + system) of seven runs of `block`, in seconds.
    private static func best(_ block: () -> Void) -> Double {
        (0..<7).map { _ in SpineBenchmark.cpuTime(block) }.min() ?? 0
    }
}
