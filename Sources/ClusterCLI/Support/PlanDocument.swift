import Foundation
import ClusterKit

/// A plan as data, for `plan -o json|yaml` and `up -o json`.
struct PlanDocument: Encodable {
    struct Change: Encodable {
        var action: String
        var node: String
        var pool: String
        var role: String
        var provider: String
        var size: String?
        var location: String?
        var reason: String?
    }

    var cluster: String
    var changes: [Change]
    var bootstrapNode: String?
    var installsGitOps: Bool
    var notes: [String]
    var summary: Summary
    /// Node names more than one machine carries, with the provider ids of every copy.
    var duplicates: [String: [String]]
    var unreadableProviders: [String]

    struct Summary: Encodable {
        var create: Int
        var replace: Int
        var delete: Int
        var text: String
    }

    init(_ plan: Plan) {
        cluster = plan.cluster
        changes = plan.changes.map { change in
            switch change {
            case .create(let node):
                Change(action: "create", node: node.identity.node, pool: node.identity.pool, role: node.identity.role.rawValue, provider: node.provider, size: node.size.description, location: node.location)
            case .delete(let machine, let reason):
                Change(action: "delete", node: machine.identity.node, pool: machine.identity.pool, role: machine.identity.role.rawValue, provider: machine.provider, size: machine.size.description, location: machine.location, reason: reason)
            case .replace(let machine, let node, let reason):
                Change(action: "replace", node: node.identity.node, pool: node.identity.pool, role: node.identity.role.rawValue, provider: node.provider, size: node.size.description, location: node.location ?? machine.location, reason: reason)
            }
        }
        bootstrapNode = plan.bootstrapNode
        installsGitOps = plan.installsGitOps
        notes = plan.notes
        duplicates = Dictionary(plan.duplicates.map { ($0.node, $0.machines.map(\.providerID)) }, uniquingKeysWith: { first, _ in first })
        unreadableProviders = plan.unreadableProviders
        summary = Summary(create: plan.creates, replace: plan.replaces, delete: plan.deletes, text: plan.summary)
    }

    enum CodingKeys: String, CodingKey {
        case cluster, changes, notes, summary, duplicates
        case unreadableProviders = "unreadable_providers"
        case bootstrapNode = "bootstrap_node"
        case installsGitOps = "installs_gitops"
    }

    /// Terraform-style text: `+ home-cp-1  controlplane  hcloud  cx32 in fsn1`.
    static func text(_ plan: Plan, spec: ClusterSpec) -> String {
        var lines: [String] = []
        let document = PlanDocument(plan)
        let width = document.changes.map(\.node.count).max() ?? 0
        let providerWidth = document.changes.map(\.provider.count).max() ?? 0
        for (change, row) in zip(plan.changes, document.changes) {
            var line = "  \(change.symbol) \(row.node.padding(toLength: width, withPad: " ", startingAt: 0))  \(row.role.padding(toLength: 12, withPad: " ", startingAt: 0))  \(row.provider.padding(toLength: providerWidth, withPad: " ", startingAt: 0))  \(row.size ?? "")"
            if let location = row.location { line += " in \(location)" }
            if let reason = row.reason { line += "  (\(reason))" }
            lines.append(line)
        }
        if let node = plan.bootstrapNode { lines.append("  + bootstrap etcd on \(node)") }
        if plan.installsGitOps, let gitops = spec.gitops { lines.append("  + Flux from \(gitops.url) (branch \(gitops.branch), path \(gitops.path))") }
        for note in plan.notes { lines.append("  ! \(note)") }
        if plan.isEmpty && plan.isComplete {
            lines.append("No changes: \(spec.name) matches its spec.")
        } else if plan.isEmpty {
            lines.append("No changes to what could be read; \(spec.name) does not match its spec until the notes above are resolved.")
        } else {
            lines.append("")
            lines.append(plan.summary)
        }
        return lines.joined(separator: "\n")
    }
}
