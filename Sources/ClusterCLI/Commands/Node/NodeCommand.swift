import ArgumentParser

struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Add nodes to a pool or remove one node.",
        discussion: """
            Both commands change the pool's count in the spec file (comments and layout kept), then \
            act on the cluster, so the spec stays the truth.

            Examples:
              clusterctl node add home --pool big
              clusterctl node add home --pool cloud --count 2 --simulate
              clusterctl node remove home home-big-2
            """,
        subcommands: [NodeAdd.self, NodeRemove.self, NodePower.self])
}
