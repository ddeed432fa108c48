import ArgumentParser
import ClusterKit

struct NodeAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add nodes to a pool: raise its count in the spec and bring the new nodes up.",
        discussion: """
            New nodes take the lowest free indices of the pool (home-big-3). If bringing them up \
            fails, the spec keeps the new count; `clusterctl up` finishes the job.

            Examples:
              clusterctl node add home --pool big --simulate
              clusterctl node add home --pool cloud --count 2
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The pool to grow.")
    var pool: String

    @Option(help: "How many nodes to add.")
    var count = 1

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let faults = try runOptions.parsedFaults(simulate: cluster.simulate)
            let before = try Session(cluster, changes: true)
            try before.lockCluster()
            guard let poolSpec = before.spec.pool(named: pool) else {
                throw ClusterError(.invalidSpec, "cluster \(before.spec.name) has no pool \"\(pool)\"", hint: "pools: " + before.spec.pools.map(\.name).joined(separator: ", "))
            }
            let spec = before.spec
            let poolName = pool
            // Refuse before touching the spec when the cluster cannot take a node yet.
            let observedBefore = try before.run { backend in try await ObservedCluster.observe(spec: spec, backend: backend) }
            try before.secrets.requireBundle(cluster: spec.name, machines: observedBefore.machines)
            let bootstrapped = observedBefore.etcdBootstrapped
            guard bootstrapped else {
                throw ClusterError(.refused, "cluster \(spec.name) is not up yet", hint: "run `clusterctl up \(cluster.cluster)\(cluster.simulate ? " --simulate" : "")` first")
            }
            let newCount = poolSpec.count + count
            try SpecEditor.setPoolCount(newCount, pool: pool, path: before.loaded.file)
            Terminal.error("\(before.loaded.file): pool \(pool) count \(poolSpec.count) -> \(newCount)")
            let session = try Session(cluster, printWarnings: false, changes: true)
            let grown = session.spec
            let progress = ProgressView(output: output.output)
            let verdict = session.verdict
            let report = try session.run(faults: faults, speed: runOptions.speed) { backend in
                let observed = try await ObservedCluster.observe(spec: grown, backend: backend)
                verdict.record(observed, action: "its pools were left alone")
                let operations = runOptions.nodeOperations(spec: grown, backend: backend, events: progress.handle)
                let plan = operations.convergePlan(operations.growth(ofPool: poolName, observed: observed), observed: observed)
                Terminal.error(PlanDocument.text(plan, spec: grown) + "\n")
                return try await operations.createAndConverge(plan.desired, observed: observed, nodeTimeout: runOptions.executorOptions(until: .bootstrap).nodeTimeout)
            }
            progress.finish()
            try ReportPrinter.print(report, output: output.output, simulated: cluster.simulate, problems: session.verdict.failures)
            if !report.succeeded {
                Terminal.error("the spec asks for \(newCount) nodes in \(pool); run `clusterctl up \(cluster.cluster)` to finish")
                throw ExitCode(ExitStatus.failed)
            }
            try session.verdict.finish()
        }
    }
}
