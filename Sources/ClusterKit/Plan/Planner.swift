/// Computes the ``Plan`` that takes what exists to what the spec wants.
///
/// Node names are deterministic (`<cluster>-<pool>-<index>`): a pool of count N keeps its
/// existing healthy nodes, fills the lowest free indices, and deletes from the highest index down,
/// so re-running never duplicates a node and removing `home-workers-2` does not rename the others.
public enum Planner {
    public static func plan(spec: ClusterSpec, observed: ObservedCluster) -> Plan {
        var desired: [NodePlan] = []
        var changes: [MachineChange] = []
        var notes: [String] = []

        for pool in spec.pools {
            if let why = observed.unreachableProviders[pool.provider] {
                notes.append("pool \(pool.name) left alone: provider \(pool.provider) could not be read (\(why))")
                continue
            }
            let existing = observed.machines
                .filter { $0.identity.pool == pool.name && $0.provider == pool.provider }
                .sorted { ($0.identity.index ?? Int.max, $0.identity.node) < ($1.identity.index ?? Int.max, $1.identity.node) }
            // Keep healthy machines first, lowest index first; the rest beyond the count go.
            let ranked = existing.filter { $0.phase != .failed } + existing.filter { $0.phase == .failed }
            let kept = Array(ranked.prefix(pool.count)).sorted { ($0.identity.index ?? Int.max) < ($1.identity.index ?? Int.max) }
            for machine in ranked.dropFirst(pool.count).reversed() {
                changes.append(.delete(machine, reason: "pool \(pool.name) wants \(pool.count)"))
            }
            var used = Set(kept.compactMap(\.identity.index))
            for machine in kept {
                let plan = nodePlan(spec: spec, pool: pool, index: machine.identity.index ?? 0, node: machine.identity.node)
                desired.append(plan)
                if machine.phase == .failed {
                    changes.append(.replace(machine, with: plan, reason: "the provider reports it failed"))
                } else if machine.size != pool.size {
                    notes.append("\(machine.identity.node): size is \(machine.size), the spec says \(pool.size); replace the node to resize it")
                }
            }
            var index = 1
            while desired.filter({ $0.identity.pool == pool.name }).count < pool.count {
                if !used.contains(index) {
                    let plan = nodePlan(spec: spec, pool: pool, index: index, node: NodeIdentity.nodeName(cluster: spec.name, pool: pool.name, index: index))
                    desired.append(plan)
                    changes.append(.create(plan))
                    used.insert(index)
                }
                index += 1
            }
        }

        // Machines of pools the spec no longer has.
        let pools = Set(spec.pools.map(\.name))
        for machine in observed.machines where !pools.contains(machine.identity.pool) && observed.unreachableProviders[machine.provider] == nil {
            changes.append(.delete(machine, reason: "pool \(machine.identity.pool) is not in the spec"))
        }

        let bootstrapNode = observed.etcdBootstrapped ? nil : desired.first { $0.identity.role == .controlPlane }?.identity.node
        let installsGitOps = !desired.isEmpty && (spec.gitops.map { gitops in observed.gitops.map { !$0.matches(gitops) } ?? true } ?? false)
        changes.sort { order($0) < order($1) }
        return Plan(cluster: spec.name, desired: desired, changes: changes, bootstrapNode: bootstrapNode, installsGitOps: installsGitOps, notes: notes)
    }

    /// Where a pool's node goes: locations round-robin by index, so a pool spread over two
    /// locations keeps its nodes there across re-runs.
    static func nodePlan(spec: ClusterSpec, pool: PoolSpec, index: Int, node: String) -> NodePlan {
        let location = pool.locations.isEmpty ? nil : pool.locations[(max(index, 1) - 1) % pool.locations.count]
        return NodePlan(
            identity: NodeIdentity(cluster: spec.name, pool: pool.name, role: pool.role, node: node),
            provider: pool.provider, size: pool.size, location: location, publicIPv4: pool.publicIPv4)
    }

    private static func order(_ change: MachineChange) -> (Int, String) {
        switch change {
        case .replace(let machine, _, _): (0, machine.identity.node)
        case .create(let plan): (1, plan.identity.node)
        case .delete(let machine, _): (2, machine.identity.node)
        }
    }
}
