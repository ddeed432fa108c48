/// Computes the ``Plan`` that takes what exists to what the spec wants.
///
/// Node names are deterministic (`<cluster>-<pool>-<index>`): a pool of count N keeps its
/// existing healthy nodes, fills the lowest free indices, and deletes from the highest index down,
/// so re-running never duplicates a node and removing `home-workers-2` does not rename the others.
///
/// A name carried by more than one machine (a manual clone, an adopted copy, a race) is held: it
/// counts as present, none of its copies is deleted, replaced or configured, and the plan reports
/// it with the provider ids. Which copy is the real node (the etcd member, the registered kubelet)
/// cannot be told from a provider's inventory, and guessing wrong costs a control plane; so the
/// person picks the copy to delete (`clusterctl node remove <cluster> <node> --machine <id>`).
///
/// The cost is linear in the number of machines and wanted nodes (plus sorting): one pass
/// groups the inventory by pool, one pass per pool ranks and fills it.
public enum Planner {
    public static func plan(spec: ClusterSpec, observed: ObservedCluster) -> Plan {
        var desired: [NodePlan] = []
        var changes: [MachineChange] = []
        var notes: [String] = []
        let duplicates = observed.duplicateNodes
        let duplicatedNames = Set(duplicates.map(\.node))
        var byPool: [PoolKey: [ObservedMachine]] = [:]
        for machine in observed.machines {
            byPool[PoolKey(pool: machine.identity.pool, provider: machine.provider), default: []].append(machine)
        }

        for pool in spec.pools {
            if let why = observed.unreachableProviders[pool.provider] {
                notes.append("pool \(pool.name) left alone: provider \(pool.provider) could not be read (\(why))")
                continue
            }
            // One entry per node name: a duplicated name is held by its first copy and never ranked
            // against distinct nodes, so its extra copy cannot push a healthy node out of the count.
            var seen = Set<String>()
            let existing = (byPool[PoolKey(pool: pool.name, provider: pool.provider)] ?? [])
                .filter { seen.insert($0.identity.node).inserted }
                .sorted { ($0.identity.index ?? Int.max, $0.identity.node) < ($1.identity.index ?? Int.max, $1.identity.node) }
            // Keep healthy machines first, lowest index first; the rest beyond the count go. A held
            // name ranks as healthy (one of its copies may be the real node).
            let healthy = existing.filter { $0.phase != .failed || duplicatedNames.contains($0.identity.node) }
            let ranked = healthy + existing.filter { $0.phase == .failed && !duplicatedNames.contains($0.identity.node) }
            let kept = Array(ranked.prefix(pool.count)).sorted { ($0.identity.index ?? Int.max) < ($1.identity.index ?? Int.max) }
            for machine in ranked.dropFirst(pool.count).reversed() {
                if duplicatedNames.contains(machine.identity.node) {
                    notes.append("\(machine.identity.node) left alone although pool \(pool.name) wants \(pool.count): its name is duplicated (see below)")
                } else {
                    changes.append(.delete(machine, reason: "pool \(pool.name) wants \(pool.count)"))
                }
            }
            var used = Set(kept.compactMap(\.identity.index))
            var wanted = 0
            for machine in kept {
                wanted += 1
                // A held name stays out of `desired`: nothing configures or waits on either copy.
                if duplicatedNames.contains(machine.identity.node) { continue }
                let plan = nodePlan(spec: spec, pool: pool, index: machine.identity.index ?? 0, node: machine.identity.node)
                desired.append(plan)
                if machine.phase == .failed {
                    changes.append(.replace(machine, with: plan, reason: "the provider reports it failed"))
                } else if machine.size != pool.size {
                    notes.append("\(machine.identity.node): size is \(machine.size), the spec says \(pool.size); replace the node to resize it")
                }
            }
            var index = 1
            while wanted < pool.count {
                if !used.contains(index) {
                    let plan = nodePlan(spec: spec, pool: pool, index: index, node: NodeIdentity.nodeName(cluster: spec.name, pool: pool.name, index: index))
                    desired.append(plan)
                    changes.append(.create(plan))
                    used.insert(index)
                    wanted += 1
                }
                index += 1
            }
        }

        // Machines of pools the spec no longer has.
        let pools = Set(spec.pools.map(\.name))
        for machine in observed.machines where !pools.contains(machine.identity.pool) && observed.unreachableProviders[machine.provider] == nil {
            changes.append(.delete(machine, reason: "pool \(machine.identity.pool) is not in the spec"))
        }
        for duplicate in duplicates where pools.contains(duplicate.pool) {
            notes.append(duplicate.description(cluster: spec.name))
        }

        let bootstrapNode = observed.etcdBootstrapped ? nil : desired.first { $0.identity.role == .controlPlane }?.identity.node
        let installsGitOps = !desired.isEmpty && (spec.gitops.map { gitops in observed.gitops.map { !$0.matches(gitops) } ?? true } ?? false)
        // Keys computed once: the sort compares them n log n times.
        changes = changes.map { (order($0), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        return Plan(
            cluster: spec.name, desired: desired, changes: changes, bootstrapNode: bootstrapNode, installsGitOps: installsGitOps, notes: notes,
            duplicates: duplicates.filter { pools.contains($0.pool) }, unreadableProviders: observed.unreachableProviders.keys.sorted())
    }

    /// Where a pool's node goes: locations round-robin by index, so a pool spread over two
    /// locations keeps its nodes there across re-runs.
    static func nodePlan(spec: ClusterSpec, pool: PoolSpec, index: Int, node: String) -> NodePlan {
        let location = pool.locations.isEmpty ? nil : pool.locations[(max(index, 1) - 1) % pool.locations.count]
        return NodePlan(
            identity: NodeIdentity(cluster: spec.name, pool: pool.name, role: pool.role, node: node),
            provider: pool.provider, size: pool.size, location: location, publicIPv4: pool.publicIPv4)
    }

    private struct PoolKey: Hashable {
        var pool: String
        var provider: String
    }

    private static func order(_ change: MachineChange) -> (Int, String) {
        switch change {
        case .replace(let machine, _, _): (0, machine.identity.node)
        case .create(let plan): (1, plan.identity.node)
        case .delete(let machine, _): (2, machine.identity.node)
        }
    }
}
