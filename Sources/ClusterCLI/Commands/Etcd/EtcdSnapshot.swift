import ArgumentParser
import ClusterKit
import Foundation

struct EtcdSnapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Save an etcd snapshot of the cluster to a directory, named by UTC time; keep the newest N.",
        discussion: """
            Asks the control planes in name order for one whose etcd runs and is healthy, streams \
            its snapshot to DIR (default: etcd-snapshots/ in the cluster's clusterctl directory; \
            created 0700, files 0600), checks etcd's trailing SHA-256, and prints the file, its \
            size, revision and hash. With --keep N, the oldest snapshots beyond N are deleted: \
            only files named etcd-<time>.snapshot, never the one just taken.

            Exit codes: 0 saved; 1 the directory could not be written; 2 bad input; 3 no control \
            plane could serve a snapshot (nothing written).

            Examples:
              clusterctl etcd snapshot home --keep 7
              clusterctl etcd snapshot home --dir /srv/backups/home -o json
              clusterctl etcd snapshot home --simulate
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("Where snapshots go (default: etcd-snapshots/ in the cluster's clusterctl directory).", valueName: "dir"))
    var dir: String?

    @Option(help: ArgumentHelp("Keep the newest N snapshots in the directory, deleting older ones (default: keep all).", valueName: "n"))
    var keep: Int?

    func validate() throws {
        if let keep, keep < 1 { throw ValidationError("--keep must be at least 1: the snapshot just taken is always kept") }
    }

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            let spec = session.spec
            let directory = dir.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath, isDirectory: true) }
                ?? session.stateDirectory.appendingPathComponent("etcd-snapshots", isDirectory: true)
            let keep = keep
            let now = Date()
            let outcome = try session.run { backend in
                try await EtcdBackup(spec: spec, backend: backend).take(into: directory, keep: keep, now: now)
            }
            for (node, reason) in outcome.skipped.sorted(by: { $0.key < $1.key }) { Terminal.error("skipped \(node): \(reason)") }
            switch output.output {
            case .json, .yaml: Terminal.out(try Terminal.document(outcome, format: output.output))
            case .table:
                Terminal.out("""
                    saved \(outcome.path)
                      from     \(outcome.node)
                      size     \(outcome.size) bytes
                      revision \(outcome.revision.map(String.init) ?? "unknown (not a bbolt database)")
                      sha256   \(outcome.sha256)
                    """)
                for path in outcome.pruned { Terminal.out("pruned \(path)") }
            }
            try session.verdict.finish()
        }
    }
}
