import ArgumentParser
import ClusterKit
import Foundation

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Destroy every machine and shared resource the cluster owns (after confirmation).",
        discussion: """
            Only what carries the cluster's identity (labels, tags, metadata) is deleted. The secrets \
            bundle is kept, so the same cluster identity can be brought up again. Without a terminal \
            to confirm on, --yes is required.

            Examples:
              clusterctl down home --simulate --yes
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: [.customShort("y"), .long], help: "Do not ask for confirmation.")
    var yes = false

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster, changes: true)
            try session.lockCluster()
            let spec = session.spec
            let observed = try session.run { backend in try await ObservedCluster.observe(spec: spec, backend: backend) }
            session.verdict.record(observed, action: "its machines and resources are left alone")
            let machines = observed.machines
            if !yes {
                let summary = "Destroy \(machines.count) machine\(machines.count == 1 ? "" : "s") of cluster \(spec.name)\(cluster.simulate ? " (simulated)" : "")?"
                guard Terminal.confirm(summary) else {
                    throw ClusterError(.refused, "not confirmed; nothing was deleted", hint: "pass --yes to destroy without asking")
                }
            }
            let progress = ProgressView(output: output.output)
            let failures = try session.run { backend in
                await Teardown(spec: spec, backend: backend, events: progress.handle).run(machines: machines, skipping: Set(observed.unreachableProviders.keys))
            }
            progress.finish()
            switch output.output {
            case .json, .yaml:
                Terminal.out(try Terminal.document(
                    DownDocument(deleted: machines.count - failures.count, unreadableProviders: observed.unreachableProviders), format: output.output, compact: true))
            case .table:
                let unread = observed.unreachableProviders.keys.sorted()
                Terminal.out(
                    "\(spec.name): \(machines.count - failures.keys.filter { key in machines.contains { $0.identity.node == key } }.count) of \(machines.count) machines deleted"
                        + (failures.isEmpty ? "" : ", with failures")
                        + (unread.isEmpty ? "" : "; not looked at on \(unread.joined(separator: ", ")) (could not be read)"))
            }
            for (subject, message) in failures.sorted(by: { $0.key < $1.key }) { Terminal.error("✘ \(subject): \(message)") }
            if !failures.isEmpty { throw ExitCode(ExitStatus.failed) }
            try session.verdict.finish()
        }
    }
}

/// What `down -o json|yaml` prints.
struct DownDocument: Encodable {
    var deleted: Int
    /// Providers that could not be read, with why: their machines were not looked at.
    var unreadableProviders: [String: String]

    enum CodingKeys: String, CodingKey {
        case deleted
        case unreadableProviders = "unreadable_providers"
    }
}
