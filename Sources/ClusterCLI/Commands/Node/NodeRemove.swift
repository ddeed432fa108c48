import ArgumentParser
import ClusterKit

struct NodeRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove one node: leave etcd (control planes), drain, delete the machine, lower the pool's count.",
        discussion: """
            The other nodes keep their names. Removing the last control-plane node is refused.

            When two machines carry the same node name (a clone, an adopted copy), `plan` and `up` \
            leave both alone and name them; --machine deletes the one copy you choose by its \
            provider id, and only that machine: the other copy keeps its etcd membership, its \
            Kubernetes node and its place in the pool's count.

            Examples:
              clusterctl node remove home home-big-2 --simulate
              clusterctl node remove home home-cp-1 --machine 57
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The node to remove, e.g. home-big-2.")
    var node: String

    @Option(help: "The provider id of the one machine to delete, when several carry the node's name.")
    var machine: String?

    func run() throws {
        try reportingErrors {
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            let session = try Session(cluster, changes: true)
            try session.lockCluster()
            let spec = session.spec
            let node = node
            let observed = try session.run { backend in try await ObservedCluster.observe(spec: spec, backend: backend) }
            let copies = observed.machines.filter { $0.identity.node == node }
            guard !copies.isEmpty else {
                let names = observed.machines.map(\.identity.node).joined(separator: ", ")
                throw ClusterError(.notFound, "cluster \(spec.name) has no node \(node)", hint: names.isEmpty ? "the cluster has no machines" : "nodes: \(names)")
            }
            if let wanted = self.machine, !copies.contains(where: { $0.providerID == wanted }) {
                throw ClusterError(.notFound, "no machine \(wanted) carries the name \(node)", hint: "machines named \(node): " + copies.map(\.providerID).joined(separator: ", "))
            }
            if copies.count > 1 {
                let duplicate = DuplicateNode(node: node, pool: copies[0].identity.pool, machines: copies)
                guard let wanted = self.machine, let copy = copies.first(where: { $0.providerID == wanted }) else {
                    throw ClusterError(.refused, duplicate.description(cluster: spec.name), hint: "pass --machine with the provider id of the copy to delete")
                }
                try removeCopy(copy, session: session)
                return
            }
            let machine = copies[0]
            for warning in try NodeOperations.checkRemovable(machine, observed: observed) {
                Terminal.error("warning: \(warning)")
            }
            let progress = ProgressView(output: output.output)
            let report = try session.run(faults: faults, speed: runOptions.speed) { backend in
                try await runOptions.nodeOperations(spec: spec, backend: backend, events: progress.handle).remove(machine, reason: "removed by request", observed: observed)
            }
            progress.finish()
            if report.succeeded, let pool = spec.pool(named: machine.identity.pool), pool.count > 0 {
                try SpecEditor.setPoolCount(pool.count - 1, pool: pool.name, path: session.loaded.file)
                Terminal.error("\(session.loaded.file): pool \(pool.name) count \(pool.count) -> \(pool.count - 1)")
            }
            try ReportPrinter.print(report, output: output.output, simulated: cluster.simulate, problems: session.verdict.failures)
            if !report.succeeded { throw ExitCode(ExitStatus.failed) }
            try session.verdict.finish()
        }
    }

    /// Deletes one copy of a duplicated name and nothing else: no etcd member or Kubernetes node
    /// is touched (they belong to whichever copy is the real node) and the pool's count stays.
    private func removeCopy(_ copy: ObservedMachine, session: Session) throws {
        let spec = session.spec
        Terminal.error("deleting \(copy.providerID) on \(copy.provider), one of the machines named \(copy.identity.node); the other copy is not touched")
        let progress = ProgressView(output: output.output)
        let failures = try session.run { backend in
            await Teardown(spec: spec, backend: backend, events: progress.handle).deleteMachines([copy])
        }
        progress.finish()
        if let failure = failures.values.first {
            throw ClusterError(.provider, "\(copy.identity.node) (\(copy.providerID)) was not deleted: \(failure)")
        }
        Terminal.out("\(spec.name): deleted \(copy.providerID), a duplicate of \(copy.identity.node)")
    }
}
