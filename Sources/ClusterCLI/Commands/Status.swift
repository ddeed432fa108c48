import Foundation
import ArgumentParser
import ClusterKit

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show nodes, roles, providers, states and versions, and how the cluster drifts from its spec.",
        discussion: """
            Reads everything from the providers and the cluster itself. Drift lists what `up` would \
            change. Exits 0 whatever the cluster's state, and 1 when a provider could not be read \
            (the view is then partial); scripts read `-o json`.

            Examples:
              clusterctl status home --simulate
              clusterctl status home -o json | jq '.nodes[].kubernetes'
            """)

    @OptionGroup var cluster: ClusterOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let session = try Session(cluster)
            let spec = session.spec
            let (observed, plan, services) = try session.run { backend in
                let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
                return (observed, Planner.plan(spec: spec, observed: observed), await Self.services(of: observed, backend: backend))
            }
            let document = StatusDocument(spec: spec, observed: observed, plan: plan, services: services)
            switch output.output {
            case .json, .yaml: Terminal.out(try Terminal.document(document, format: output.output))
            case .table: Terminal.out(document.text)
            }
            session.verdict.record(observed, action: "its machines are missing from this view")
            try session.verdict.finish()
        }
    }
}

extension Status {
    /// Each running Talos node's services (`ServiceList`), asked a batch at a time; a node that
    /// does not answer is left out (its Talos column says why).
    static func services(of observed: ObservedCluster, backend: ClusterBackend) async -> [String: [TalosServiceStatus]] {
        let running = observed.machines.filter { observed.talos[$0.identity.node]?.stage == .running }
        var found: [String: [TalosServiceStatus]] = [:]
        for start in stride(from: 0, to: running.count, by: 32) {
            await withTaskGroup(of: (String, [TalosServiceStatus]?).self) { group in
                for machine in running[start..<min(start + 32, running.count)] {
                    group.addTask { (machine.identity.node, try? await backend.talos.services(of: machine)) }
                }
                for await (node, services) in group {
                    if let services { found[node] = services }
                }
            }
        }
        return found
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
        /// The Ready condition's reason when the node is not Ready.
        var kubernetesReason: String?
        /// Talos services as `ServiceList` reports them; nil when Talos did not answer.
        var services: [TalosServiceStatus]?

        enum CodingKeys: String, CodingKey {
            case name, pool, role, provider, location, machine, talos, kubernetes, address, services
            case talosVersion = "talos_version"
            case kubernetesReason = "kubernetes_reason"
        }

        /// The services column: `ok (6)`, or the ones that are not up (`etcd Preparing`).
        var servicesSummary: String {
            guard let services else { return "-" }
            let down = services.filter { !$0.isUp }
            guard !down.isEmpty else { return "ok (\(services.count))" }
            return down.map { "\($0.id) \($0.state)\($0.healthy == false ? " unhealthy" : "")" }.joined(separator: ", ")
        }
    }

    var cluster: String
    var talosVersion: String
    var kubernetesVersion: String
    var nodes: [Node]
    var etcdMembers: [String]
    var apiServer: String
    var flux: String
    /// The revision Flux applied and whether it is Ready there (nil when Flux is not installed).
    var fluxRevision: String?
    var fluxReady: Bool?
    var drift: [String]
    var unreachableProviders: [String: String]

    enum CodingKeys: String, CodingKey {
        case cluster, nodes, flux, drift
        case talosVersion = "talos_version"
        case kubernetesVersion = "kubernetes_version"
        case etcdMembers = "etcd_members"
        case apiServer = "api_server"
        case fluxRevision = "flux_revision"
        case fluxReady = "flux_ready"
        case unreachableProviders = "unreachable_providers"
    }

    init(spec: ClusterSpec, observed: ObservedCluster, plan: Plan, services: [String: [TalosServiceStatus]] = [:]) {
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
                talosVersion: talos?.talosVersion, address: machine.addresses.first,
                kubernetesReason: kube[machine.identity.node].flatMap { $0.ready ? nil : $0.readyReason },
                services: services[machine.identity.node])
        }
        etcdMembers = observed.etcdMembers.map(\.hostname)
        apiServer = observed.kubernetesNodes == nil ? (observed.etcdBootstrapped ? "down" : "not bootstrapped") : "up"
        if let gitops = spec.gitops {
            if let status = observed.gitops {
                fluxRevision = status.revision
                fluxReady = status.ready
                flux = status.matches(gitops) ? status.summary : "points at \(status.path), spec says \(gitops.path)"
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
        var rows = [["NODE", "POOL", "ROLE", "PROVIDER", "LOCATION", "MACHINE", "TALOS", "SERVICES", "KUBERNETES", "VERSION", "ADDRESS"]]
        for node in nodes {
            rows.append([
                node.name, node.pool, node.role, node.provider, node.location ?? "-", node.machine, node.talos, node.servicesSummary, node.kubernetes,
                node.talosVersion ?? "-", node.address ?? "-",
            ])
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
