import ArgumentParser

struct EtcdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etcd",
        abstract: "Back up etcd, and restore a cluster whose control plane is gone.",
        discussion: """
            `snapshot` takes a snapshot through a healthy control plane into a directory, named by \
            UTC time, and keeps the newest N. `restore` rebuilds the control plane from one when no \
            control plane with a working etcd is left (Talos' disaster-recovery path).

            Examples:
              clusterctl etcd snapshot home --keep 7
              clusterctl etcd restore home --dry-run --from ./db.snapshot
            """,
        subcommands: [EtcdSnapshot.self, EtcdRestore.self])
}
