import ArgumentParser
import ClusterKit
import Foundation

struct EtcdRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore etcd from a snapshot onto a control plane whose etcd is gone (disaster recovery).",
        discussion: """
            Follows Talos' "Disaster Recovery" guide: checks the snapshot's SHA-256 first, refuses \
            when any control plane still reaches a working etcd (that is not a disaster: replace \
            lost nodes one at a time instead), requires every running control plane to show etcd \
            Preparing, uploads the snapshot to exactly one (the first by name), bootstraps it with \
            recover_etcd, and waits until every control plane is a voting member again. \
            --dry-run checks everything and prints the steps without changing anything.

            Control-plane machines the spec wants but the providers lack are created first and \
            configured with the cluster's existing secrets (only after the snapshot and the \
            "etcd still works" check passed).

            Exit codes: 0 restored (or, with --dry-run, would restore); 1 the restore ran and \
            failed, or the snapshot cannot be read; 2 a damaged snapshot; 3 refused (etcd still \
            works, or a control plane is not ready for recovery).

            Examples:
              clusterctl etcd restore home --dry-run --from ./db.snapshot
              clusterctl etcd restore home --from ./db.snapshot
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("The snapshot file to restore from.", valueName: "file"))
    var from: String

    @Flag(help: "Check the snapshot and the control planes and print the steps; change nothing.")
    var dryRun = false

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster, changes: !dryRun)
            if !dryRun { try session.lockCluster() }
            let spec = session.spec
            let path = (from as NSString).expandingTildeInPath
            let dryRun = dryRun
            let progress = ProgressView(output: output.output)
            let steps = try session.run { backend in
                try await ClusterKit.EtcdRestore(spec: spec, backend: backend, events: progress.handle).run(from: path, dryRun: dryRun)
            }
            progress.finish()
            switch output.output {
            case .json, .yaml: Terminal.out(try Terminal.document(RestoreDocument(dryRun: dryRun, steps: steps), format: output.output))
            case .table:
                Terminal.out(dryRun ? "Would restore \(spec.name) from \(path):" : "Restored \(spec.name) from \(path):")
                for step in steps { Terminal.out("  \(step.node.map { "\($0): " } ?? "")\(step.action)") }
            }
            try session.verdict.finish()
        }
    }
}

/// `-o json|yaml` output of `etcd restore`.
struct RestoreDocument: Encodable {
    var dryRun: Bool
    var steps: [EtcdRecovery.Step]

    enum CodingKeys: String, CodingKey {
        case steps
        case dryRun = "dry_run"
    }
}
