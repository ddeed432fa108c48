import ArgumentParser
import ClusterKit

struct NodeRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove one node: leave etcd (control planes), drain, delete the machine, lower the pool's count.",
        discussion: """
            The other nodes keep their names. Removing the last control-plane node is refused.

            Examples:
              clusterctl node remove home home-big-2 --simulate
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The node to remove, e.g. home-big-2.")
    var node: String

    func run() throws {
        try reportingErrors {
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            let session = try Session(cluster)
            let spec = session.spec
            let node = node
            let observed = try session.run { backend in try await ObservedCluster.observe(spec: spec, backend: backend) }
            guard let machine = observed.machines.first(where: { $0.identity.node == node }) else {
                let names = observed.machines.map(\.identity.node).joined(separator: ", ")
                throw ClusterError(.notFound, "cluster \(spec.name) has no node \(node)", hint: names.isEmpty ? "the cluster has no machines" : "nodes: \(names)")
            }
            if machine.identity.role == .controlPlane {
                // Leaving etcd needs the Talos API; deleting the machine without it would leave a dead member.
                try RealBackends.checkReachable(.bootstrap, simulate: cluster.simulate)
                let others = observed.machines.filter { $0.identity.role == .controlPlane && $0.identity.node != node && $0.phase == .running }
                guard !others.isEmpty else {
                    throw ClusterError(.refused, "\(node) is the last running control-plane node; removing it would destroy the cluster", hint: "use `clusterctl down` to destroy the whole cluster")
                }
                if others.count % 2 == 0 { Terminal.error("warning: \(others.count) control planes remain, an even number tolerates no more failures than \(others.count - 1)") }
            }
            let progress = ProgressView(output: output.output)
            let report = try session.run(faults: faults, speed: runOptions.speed) { backend in
                let plan = Plan(cluster: spec.name, desired: [], changes: [.delete(machine, reason: "removed by request")], bootstrapNode: nil, installsGitOps: false, notes: [])
                let executor = ClusterExecutor(spec: spec, backend: backend, options: .init(until: .bootstrap), events: progress.handle)
                return try await executor.apply(plan, observed: observed)
            }
            progress.finish()
            if report.succeeded, let pool = spec.pool(named: machine.identity.pool), pool.count > 0 {
                try SpecEditor.setPoolCount(pool.count - 1, pool: pool.name, path: session.loaded.file)
                Terminal.error("\(session.loaded.file): pool \(pool.name) count \(pool.count) -> \(pool.count - 1)")
            }
            try ReportPrinter.print(report, output: output.output, simulated: cluster.simulate)
            if !report.succeeded { throw ExitCode(ExitStatus.failed) }
        }
    }
}
