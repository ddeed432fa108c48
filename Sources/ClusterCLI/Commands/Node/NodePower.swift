import ArgumentParser
import ClusterKit

/// What `node power` does: a ``PowerAction``, or reading the state.
enum NodePowerVerb: String, ExpressibleByArgument, CaseIterable {
    case off, on, reset, status

    var action: PowerAction? { PowerAction(rawValue: rawValue) }
}

struct NodePower: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "power",
        abstract: "Switch one node's power through its provider: off (pulls the plug), on, reset, or show its status.",
        discussion: """
            A tool for failover drills and their repair, kept out of the help listing: `off` cuts the \
            power at once with no shutdown and no drain (Hetzner poweroff, Proxmox stop, virsh \
            destroy), as a real outage would; the node's etcd member and Kubernetes node stay. \
            `on` boots it again from its disk with the config it had. `reset` cuts and restores the \
            power; a node that is off is refused. Each waits for the provider to report the new \
            state, and switching a node to the state it is in does nothing.

            Exit codes: 0 done; 1 failed; 3 refused (a reset of a node that is off, a name two \
            machines carry, a provider that cannot switch power). The message says why and what \
            to do.

            Examples:
              clusterctl node power home home-workers-1 off --simulate
              clusterctl node power home home-workers-1 status -o json
              clusterctl node power home home-workers-1 on
            """,
        shouldDisplay: false)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The node, e.g. home-workers-1.")
    var node: String

    @Argument(help: "off, on, reset or status.")
    var verb: NodePowerVerb

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster, changes: verb != .status)
            if verb != .status { try session.lockCluster() }
            let spec = session.spec
            let node = node
            let action = verb.action
            let report = try session.run { backend in
                let control = NodePowerControl(provisioners: backend.provisioners)
                if let action { return try await control.apply(action, node: node, cluster: spec.name) }
                return try await control.status(node: node, cluster: spec.name)
            }
            switch output.output {
            case .json, .yaml: Terminal.out(try Terminal.document(report, format: output.output))
            case .table: Terminal.out("\(report.node): power \(report.power) (machine \(report.machine) on \(report.provider))")
            }
        }
    }
}
