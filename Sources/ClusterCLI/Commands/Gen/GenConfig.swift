import ArgumentParser
import ClusterKit
import Foundation

struct GenConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Write each node's Talos machine config, a talosconfig and an admin kubeconfig.",
        discussion: """
            The same generator `up` uses, from the spec and the cluster's secrets bundle (created once, \
            on first use, and only while the cluster has no machine: a missing bundle for a running \
            cluster is refused with how to restore it). Output is deterministic: the same spec and bundle give byte-identical files. \
            Files are written 0600. Node addresses and the floating IP come from the providers when \
            the machines exist (with --simulate, from the simulator); a floating-IP endpoint whose \
            address is not known yet can be given with --endpoint-ip.

            Examples:
              clusterctl gen config home --out ./out
              clusterctl gen config home --node home-cp-1 --endpoint-ip 203.0.113.10
              clusterctl gen config home --simulate --out ./out
            """)

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "Directory to write into (created 0700 if missing).")
    var out = "."

    @Option(help: "Write only this node's machine config (client configs are still written).")
    var node: String?

    @Option(name: .customLong("endpoint-ip"), help: "The floating IP's address, when the endpoint is a floating IP.")
    var endpointIP: String?

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            let spec = session.spec
            // Against real providers the inventory is read only when the bundle is missing, to know
            // whether making one is safe (no machine exists) or would split the cluster's identity.
            let observed = cluster.simulate || !session.secrets.exists
                ? try session.run { backend in try await ObservedCluster.observe(spec: spec, backend: backend) }
                : ObservedCluster(machines: [])
            try session.secrets.requireBundle(cluster: spec.name, machines: observed.machines)
            let plan = Planner.plan(spec: spec, observed: observed)
            let addresses = Dictionary(observed.machines.map { ($0.identity.node, $0.addresses) }, uniquingKeysWith: { first, _ in first })
            let source = try LazyTalosConfigSource(spec: spec, store: session.secrets).loaded()
            var renderer = source.renderer
            renderer.floatingIPAddress = endpointIP ?? observed.configFloatingIP
            if case .floatingIP(let name) = spec.endpoint.kind, renderer.floatingIPAddress == nil {
                throw ClusterError(
                    .invalidSpec, "the endpoint is floating IP \(name), whose address is not known yet",
                    hint: "pass --endpoint-ip ADDRESS, or run `clusterctl up \(cluster.cluster)` first so the IP exists")
            }
            let nodes = plan.desired.map { source.description(of: $0.identity, addresses: addresses[$0.identity.node] ?? []) }
            if addresses.isEmpty {
                Terminal.error("note: no machines exist yet, so certificate SANs carry only the endpoint and talosconfig lists no node addresses; run again after `clusterctl up`")
            }
            let output = try ClusterConfigWriter(renderer: renderer).write(nodes: nodes, to: URL(fileURLWithPath: out, isDirectory: true), only: node)
            for (name, url) in output.machineConfigs.sorted(by: { $0.key < $1.key }) { Terminal.out("\(name): \(url.path)") }
            Terminal.out("talosconfig: \(output.talosconfig.path)")
            Terminal.out("kubeconfig: \(output.kubeconfig.path)")
        }
    }
}
