import ArgumentParser
import ClusterKit

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what `up` would do: + create, - delete, ~ replace.",
        discussion: """
            The plan compares the spec with what the providers report (machines carry their cluster, \
            pool, role and node name), so there is no state file to drift. Nothing is changed. \
            A provider that cannot be read is named on stderr and the command exits 1: the plan \
            leaves its pools alone and is not the whole truth.

            Examples:
              clusterctl plan home --simulate
              clusterctl plan home -o json
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            let spec = session.spec
            let verdict = session.verdict
            let plan = try session.run { backend in
                let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
                verdict.record(observed, action: "the plan leaves its pools alone")
                return Planner.plan(spec: spec, observed: observed)
            }
            switch output.output {
            case .json, .yaml: Terminal.out(try Terminal.document(PlanDocument(plan), format: output.output))
            case .table: Terminal.out(PlanDocument.text(plan, spec: spec))
            }
            try session.verdict.finish()
        }
    }
}
