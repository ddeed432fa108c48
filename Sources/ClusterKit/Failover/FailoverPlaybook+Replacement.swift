/// The two replacement playbooks (control plane lost, worker lost): planning and guards.
extension FailoverPlaybook {
    /// The lost node's name, or a clear error when none was given.
    func lostNode() throws(ClusterError) -> String {
        guard let node, !node.isEmpty else {
            throw ClusterError(.invalidSpec, "the \(kind.rawValue) playbook needs the lost node's name", hint: "e.g. `clusterctl failover \(spec.name) \(kind.rawValue) \(spec.name)-cp-3`")
        }
        return node
    }

    func replacementPlan(role: NodeRole, observed: FailoverObservation) throws(ClusterError) -> [PlaybookStep] {
        let node = try lostNode()
        guard let placement = NodeOperations(spec: spec, backend: backend).placement(ofNode: node, observed: observed.cluster) else {
            if let (provider, reason) = observed.cluster.unreachableProviders.min(by: { $0.key < $1.key }) {
                // The planner leaves an unreadable provider's pools alone, so the node may well be one of them.
                throw ClusterError(
                    .refused, "provider \(provider) cannot be read (\(reason)), so where \(node) belongs and whether it exists cannot be known",
                    hint: "bring the provider back (its API, or the host it runs on), then run the playbook again")
            }
            let names = observed.cluster.machines.map(\.identity.node).joined(separator: ", ")
            throw ClusterError(.notFound, "no pool of cluster \(spec.name) has a node \(node)", hint: names.isEmpty ? "the cluster has no machines" : "nodes: \(names)")
        }
        guard placement.identity.role == role else {
            let other = PlaybookKind.replacing(placement.identity.role)
            throw ClusterError(.refused, "\(node) is a \(placement.identity.role == .controlPlane ? "control-plane node" : "worker")", hint: "use the \(other.rawValue) playbook")
        }
        if let reason = observed.cluster.unreachableProviders[placement.provider] {
            throw ClusterError(
                .refused, "provider \(placement.provider), which holds \(node), cannot be read (\(reason)): whether \(node) exists cannot be known, and a replacement cannot be created there",
                hint: "bring the provider back (its API, or the host it runs on), then run the playbook again")
        }
        let copies = observed.machines(named: node)
        guard copies.count <= 1 else {
            let duplicate = DuplicateNode(node: node, pool: copies[0].identity.pool, machines: copies)
            throw ClusterError(.refused, duplicate.description(cluster: spec.name), hint: "remove the stray copy with `clusterctl node remove \(spec.name) \(node) --machine ID` first")
        }
        let machine = copies.first
        let member = observed.cluster.etcdMembers.first { $0.belongs(to: node, addresses: copies.first?.addresses ?? []) }
        let kubernetesNode = observed.kubernetesNode(node)
        let provider = "\(placement.provider) (\(placement.size))"

        if let machine, !isLost(machine, observed: observed) {
            if observed.isHealthy(machine), role == .worker || member.map({ !$0.isLearner }) == true { return [] }
            if machine.phase == .running, observed.isTalosSilent(node), kubernetesNode?.ready == true {
                throw ClusterError(
                    .refused, "\(node) is not confirmed lost: its Talos API does not answer but Kubernetes still reports it Ready",
                    hint: "Kubernetes marks a silent node NotReady 40-55 s after it stops (node-monitor grace period 50 s); run the playbook again in a minute")
            }
            // A replacement that a killed run created and that is still on its way.
            return [
                PlaybookStep(.createReplacement, node: node, "take the replacement \(machine.providerID) on \(machine.provider) to Ready"),
                waitStep(node: node, role: role),
            ]
        }
        var steps: [PlaybookStep] = []
        if let machine {
            steps.append(PlaybookStep(.confirmLost, node: node, "confirm \(node) (\(machine.providerID) on \(machine.provider)) is gone: provider state, \(options.confirmProbes) Talos probes \(options.probeInterval.formattedSeconds) apart, Kubernetes"))
        }
        if role == .controlPlane, member != nil || machine != nil {
            try checkControlPlaneGuards(node: node, observed: observed)
        }
        if role == .worker, kubernetesNode?.ready == true {
            steps.append(PlaybookStep(.cordonAndDrain, node: node, "cordon \(node) and evict its pods while its kubelet still answers"))
        }
        if let member {
            steps.append(PlaybookStep(.removeEtcdMember, node: node, "remove etcd member \(member.hexID) (\(node)) through a healthy control plane"))
        }
        if kubernetesNode != nil {
            steps.append(PlaybookStep(.deleteKubernetesNode, node: node, "delete the Kubernetes node \(node)"))
        }
        if let machine {
            steps.append(PlaybookStep(.deleteMachine, node: node, "delete machine \(machine.providerID) on \(machine.provider)"))
        }
        steps.append(PlaybookStep(.createReplacement, node: node, "create \(node) on \(provider)\(placement.location.map { " in \($0)" } ?? "") and take it to Ready"))
        steps.append(waitStep(node: node, role: role))
        return steps
    }

    private func waitStep(node: String, role: NodeRole) -> PlaybookStep {
        PlaybookStep(.waitHealthy, node: node, role == .controlPlane ? "wait until \(node) is a voting etcd member and every expected node is Ready" : "wait until \(node) and every expected node are Ready")
    }

    /// Whether the provider, the Talos API and Kubernetes, read once, say the machine is gone:
    /// the provider reports it failed or stopped, or its Talos API does not answer and
    /// Kubernetes does not report it Ready. ``confirmLost`` probes again before anything is destroyed.
    func isLost(_ machine: ObservedMachine, observed: FailoverObservation) -> Bool {
        switch machine.phase {
        case .failed, .stopped, .deleting: return true
        case .provisioning: return false
        case .running:
            return observed.isTalosSilent(machine.identity.node) && observed.kubernetesNode(machine.identity.node)?.ready != true
        }
    }

    /// Refuses, saying why, when removing `node`'s etcd member would be unsafe: another control
    /// plane is unhealthy, another member is a learner or has no name yet (a join in progress: deleting
    /// it then breaks the join, FAILOVER-FACTS.md section 1.2), or the healthy voters left would not
    /// be a quorum (etcd needs (n/2)+1 of n to change membership, section 2).
    func checkControlPlaneGuards(node: String, observed: FailoverObservation) throws(ClusterError) {
        let others = observed.cluster.machines.filter { $0.identity.role == .controlPlane && $0.identity.node != node }
        guard !others.isEmpty else {
            throw ClusterError(
                .refused, "\(node) is the only control plane: its etcd data is the cluster's, so there is no member to remove and no peer to rejoin",
                hint: "recover from an etcd snapshot (`clusterctl etcd restore \(spec.name)`)")
        }
        let members = observed.cluster.etcdMembers
        let addresses = observed.machines(named: node).first?.addresses ?? []
        guard !members.isEmpty else {
            throw ClusterError(
                .refused, "no control plane answers etcd's member list: etcd has no quorum, and no member can be removed without one",
                hint: "if the other control planes cannot come back, recover from an etcd snapshot (`clusterctl etcd restore \(spec.name)`)")
        }
        // The lost node's own learner (it died waiting for its promotion, or before its etcd
        // started and took a name) is not a join in progress: it never will be promoted, and
        // while it is listed etcd refuses every other learner (one at a time), the replacement's
        // too (kubernetes-sigs/cluster-api#13221). The removal step removes it like a voter;
        // removing a learner needs no quorum check (etcd `mayRemoveMember`, FAILOVER-FACTS.md section 2).
        if let joining = members.first(where: { ($0.isLearner || $0.hostname.isEmpty) && !$0.belongs(to: node, addresses: addresses) }) {
            throw ClusterError(
                .refused, "etcd member \(joining.hexID)\(joining.hostname.isEmpty ? " has no name yet" : " (\(joining.hostname)) is a learner"): a join is in progress",
                hint: "wait until it is promoted (Talos retries every 2 s for up to 10 min), then run the playbook again")
        }
        let unhealthy = others.filter { !(observed.isHealthyControlPlaneForEtcd($0)) }
        if let peer = unhealthy.first {
            throw ClusterError(
                .refused, "another control plane, \(peer.identity.node), is unhealthy (\(observed.problems(of: peer).joined(separator: ", "))); replacing \(node) now could cost etcd its quorum",
                hint: "bring \(peer.identity.node) back first; if both are lost for good, recover from an etcd snapshot")
        }
        let voters = members.filter { !$0.isLearner }
        if voters.contains(where: { $0.hostname == node }) {
            let healthy = voters.filter { $0.hostname != node && observed.etcdHealthy[$0.hostname] == true }.count
            let quorum = EtcdMember.quorum(ofVoters: voters.count)
            guard healthy >= quorum else {
                throw ClusterError(
                    .refused, "removing \(node)'s etcd member would break quorum: \(healthy) of \(voters.count) voting members are healthy and a membership change needs \(quorum)",
                    hint: "bring a control plane back, or recover from an etcd snapshot (`clusterctl etcd restore \(spec.name)`)")
            }
        }
    }
}

extension FailoverObservation {
    /// Running at the provider, Talos running and etcd healthy: a peer a removal can go through.
    /// Kubernetes is not asked: the kubelet is not part of etcd's quorum.
    func isHealthyControlPlaneForEtcd(_ machine: ObservedMachine) -> Bool {
        machine.phase == .running && cluster.talos[machine.identity.node]?.stage == .running && etcdHealthy[machine.identity.node] == true
    }
}
