import Foundation
import ArgumentParser
import ClusterKit

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show nodes, roles, providers, states and versions, and how the cluster drifts from its spec.",
        discussion: """
            Reads everything from the providers and the cluster itself. Drift lists what `up` would
            change. Exits 0 whatever the cluster's state, and 1 when a provider could not be read
            (the view is then partial); scripts read `-o json`.

            Examples:
              clusterctl status home --simulate
              clusterctl status home -o json | jq '.nodes[] | select(.kubernetes != "Ready")'
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            let spec = session.spec
            let (observed, plan) = try session.run { backend in
                let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
                return (observed, Planner.plan(spec: spec, observed: observed))
            }
            let document = StatusDocument(spec: spec, observed: observed, plan: plan)
            switch output.output {
            case .json, .yaml: Terminal.out(try Terminal.document(document, format: output.output))
            case .table: Terminal.out(document.text)
            }
            session.verdict.record(observed, action: "its machines are missing from this view")
            try session.verdict.finish()
        }
    }
}

struct StatusDocument: Encodable {
    struct Node: Encodable {
        var name: String
        var pool: String
        var role: String
        var provider: String
        var location: String?
        var machine: String
        var talos: String
        var kubernetes: String
        var talosVersion: String?
        var address: String?

        enum CodingKeys: String, CodingKey {
            case name, pool, role, provider, location, machine, talos, kubernetes, address
            case talosVersion = "talos_version"
        }
    }

    var cluster: String
    var talosVersion: String
    var kubernetesVersion: String
    var nodes: [Node]
    var etcdMembers: [String]
    var apiServer: String
    var flux: String
    var drift: [String]
    var unreachableProviders: [String: String]

    enum CodingKeys: String, CodingKey {
        case cluster, nodes, flux, drift
        case talosVersion = "talos_version"
        case kubernetesVersion = "kubernetes_version"
        case etcdMembers = "etcd_members"
        case apiServer = "api_server"
        case unreachableProviders = "unreachable_providers"
    }

    init(spec: ClusterSpec, observed: ObservedCluster, plan: Plan) {
        cluster = spec.name
        talosVersion = spec.talos.version.description
        kubernetesVersion = spec.kubernetes.version.description
        let kube = Dictionary((observed.kubernetesNodes ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        nodes = observed.machines.map { machine in
            let talos = observed.talos[machine.identity.node]
            let kubernetes: String = if observed.kubernetesNodes == nil { "unknown" } else {
                kube[machine.identity.node].map { $0.ready ? "Ready" : "NotReady" } ?? "absent"
            }
            return Node(
                name: machine.identity.node, pool: machine.identity.pool, role: machine.identity.role.rawValue, provider: machine.provider,
                location: machine.location, machine: machine.phase.rawValue, talos: talos?.stage.rawValue ?? "unknown", kubernetes: kubernetes,
                talosVersion: talos?.talosVersion, address: machine.addresses.first)
        }
        etcdMembers = observed.etcdMembers.map(\.hostname)
        apiServer = observed.kubernetesNodes == nil ? (observed.etcdBootstrapped ? "down" : "not bootstrapped") : "up"
        if let gitops = spec.gitops {
            if let status = observed.gitops {
                flux = status.matches(gitops) ? (status.ready ? "ready (\(status.path))" : "reconciling (\(status.path))") : "points at \(status.path), spec says \(gitops.path)"
            } else {
                flux = "not installed"
            }
        } else {
            flux = "not configured"
        }
        var drift = plan.changes.map { change -> String in
            switch change {
            case .create(let node): "+ \(node.identity.node): missing (pool \(node.identity.pool))"
            case .delete(let machine, let reason): "- \(machine.identity.node): not wanted (\(reason))"
            case .replace(let machine, _, let reason): "~ \(machine.identity.node): \(reason)"
            }
        }
        if let node = plan.bootstrapNode { drift.append("+ etcd not bootstrapped (would bootstrap on \(node))") }
        if plan.installsGitOps { drift.append("+ Flux not pointed at the spec's GitOps path") }
        drift += plan.notes.map { "! \($0)" }
        self.drift = drift
        unreachableProviders = observed.unreachableProviders
    }

    var text: String {
        var rows = [["NODE", "POOL", "ROLE", "PROVIDER", "LOCATION", "MACHINE", "TALOS", "KUBERNETES", "VERSION", "ADDRESS"]]
        for node in nodes {
            rows.append([node.name, node.pool, node.role, node.provider, node.location ?? "-", node.machine, node.talos, node.kubernetes, node.talosVersion ?? "-", node.address ?? "-"])
        }
        var lines = TextTable.lines(rows)
        if nodes.isEmpty { lines = ["No machines of cluster \(cluster) exist."] }
        lines.append("")
        lines.append("cluster \(cluster): Talos \(talosVersion), Kubernetes \(kubernetesVersion); API server \(apiServer); etcd \(etcdMembers.count) member\(etcdMembers.count == 1 ? "" : "s")\(etcdMembers.isEmpty ? "" : " (\(etcdMembers.joined(separator: ", ")))"); Flux \(flux)")
        for (provider, why) in unreachableProviders.sorted(by: { $0.key < $1.key }) { lines.append("provider \(provider) unreachable: \(why)") }
        lines.append(drift.isEmpty ? "No drift: the cluster matches its spec." : "Drift from the spec (`clusterctl up \(cluster)` fixes it):")
        lines += drift.map { "  \($0)" }
        return lines.joined(separator: "\n")
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
