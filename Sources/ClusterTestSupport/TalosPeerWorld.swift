import ClusterKit
import Foundation
import GRPCCore
import Provisioners
import Yams

/// The state behind ``TalosAPIPeer``: simulated Talos nodes and the etcd clusters they form, with
/// the rules Talos and etcd apply (../shared/reference/talos/API-FACTS.md; etcd's
/// `server/etcdserver/server.go` `mayRemoveMember` and `membership/cluster.go`
/// `IsReadyToRemoveVotingMember`). Refusals are `RPCError`s with Talos' codes and texts.
///
/// Not thread-safe on its own: ``TalosAPIPeer`` keeps it behind a lock.
struct TalosPeerWorld {
    struct Node {
        var address: String
        var hostname: String
        /// Answers on its port at all (false: powered off, halted, or rebooting).
        var up = true
        var rebootUntil: ContinuousClock.Instant?
        /// No complete config yet: per-boot CA, no client certificates asked, everyone os:reader.
        var maintenance: Bool
        /// The per-boot maintenance CA (Talos `secrets/maintenance_root.go`); new at every boot into maintenance.
        var maintenanceCA: PEMCertificateAndKey
        var config: MachineConfigSummary?
        var configText: String?
        var stagedConfig: String?
        /// A REBOOT apply happened; further applies are refused until the node is back.
        var rebootPending = false
        /// The CRI is up (else "bootstrap is not available yet").
        var criReady = true
        /// Time is synchronised (else "time is not in sync yet").
        var timeSynced = true
        /// `/var/lib/etcd` holds data.
        var etcdData = false
        /// The etcd cluster this node's member belongs to.
        var etcdCluster: Int?
        /// etcd was stopped by EtcdLeaveCluster and does not rejoin until the node reboots.
        var etcdStopped = false
        /// A snapshot uploaded with EtcdRecover.
        var recoverySnapshot: [UInt8]?
        /// Why the etcd service failed, if it did (a recovery without a valid snapshot).
        var etcdFailure: String?

        var isControlPlane: Bool { config?.role == .controlPlane }
    }

    struct Member {
        var id: UInt64
        /// Empty until the member has started (etcd's `IsStarted`: it has published its name).
        var hostname: String
        var address: String
        var isLearner: Bool
        var promoteAt: ContinuousClock.Instant?
    }

    struct EtcdCluster {
        var clusterName: String
        var members: [Member]
        var bootstrappedAt: ContinuousClock.Instant
        /// Bytes a snapshot carries: what the cluster was recovered from, if it was.
        var payload: [UInt8]
    }

    var nodes: [String: Node] = [:]
    var clusters: [EtcdCluster] = []
    var timings: TalosAPIPeer.Timings
    var talosVersion = "v1.13.9"
    private var nextMemberID: UInt64 = 0x8e9e05c52164694d
    /// Successful Bootstrap calls, for tests that check "exactly once".
    var bootstrapCalls = 0

    init(timings: TalosAPIPeer.Timings) { self.timings = timings }

    // MARK: Lookups

    func node(_ address: String) throws(RPCError) -> Node {
        guard let node = nodes[address], node.up else {
            // What apid's one-to-one proxy reports for a target it cannot dial (grpc-go's form).
            throw RPCError(code: .unavailable, message: "connection error: desc = \"transport: Error while dialing: dial tcp \(address):50000: connect: connection refused\"")
        }
        return node
    }

    private func requireControlPlane(_ node: Node, _ api: String) throws(RPCError) {
        guard node.isControlPlane, !node.maintenance else {
            throw RPCError(code: .unimplemented, message: "\(api) is only available on control plane nodes")
        }
    }

    private func isConnected(_ member: Member) -> Bool { nodes[member.address]?.up == true }

    // MARK: Time

    /// Joins waiting control planes and promotes learners whose time has come.
    mutating func settle(now: ContinuousClock.Instant) {
        for (address, node) in nodes where node.rebootUntil.map({ now >= $0 }) == true {
            nodes[address]?.rebootUntil = nil
            nodes[address]?.up = true
            nodes[address]?.rebootPending = false
            nodes[address]?.etcdStopped = false
            if node.config == nil { nodes[address]?.maintenance = true }
        }
        for index in clusters.indices {
            for member in clusters[index].members.indices where clusters[index].members[member].promoteAt.map({ now >= $0 }) == true {
                clusters[index].members[member].isLearner = false
                clusters[index].members[member].promoteAt = nil
            }
        }
        // A control plane joins once the Kubernetes API is up (it finds etcd through the
        // `kubernetes` endpoints), removing any member with its own hostname, as a learner,
        // one learner at a time (API-FACTS.md section 4).
        for address in nodes.keys.sorted() {
            guard let node = nodes[address], node.up, node.isControlPlane, !node.maintenance, node.etcdCluster == nil, !node.etcdData,
                !node.etcdStopped, let clusterName = node.config?.clusterName,
                let index = clusters.firstIndex(where: { $0.clusterName == clusterName && now >= $0.bootstrappedAt + timings.joinDelay })
            else { continue }
            guard !clusters[index].members.contains(where: { $0.isLearner }), hasLeader(clusters[index]) else { continue }
            clusters[index].members.removeAll { $0.hostname == node.hostname }
            clusters[index].members.append(newMember(node, learner: true, now: now))
            nodes[address]?.etcdCluster = index
            nodes[address]?.etcdData = true
        }
    }

    private mutating func newMember(_ node: Node, learner: Bool, now: ContinuousClock.Instant) -> Member {
        nextMemberID = nextMemberID &* 6364136223846793005 &+ 1442695040888963407
        return Member(
            id: nextMemberID, hostname: node.hostname, address: node.address, isLearner: learner,
            promoteAt: learner ? now + timings.learnerPromotion : nil)
    }

    private func hasLeader(_ cluster: EtcdCluster) -> Bool {
        let voting = cluster.members.filter { !$0.isLearner }
        return voting.filter(isConnected).count * 2 > voting.count
    }

    // MARK: ApplyConfiguration (v1alpha1_server.go ApplyConfiguration, API-FACTS.md sections 2 and 3)

    mutating func apply(
        _ text: String, mode: TalosApplyMode, dryRun: Bool, to address: String, now: ContinuousClock.Instant
    ) throws(RPCError) -> TalosApplyResult {
        var node = try self.node(address)
        let summary: MachineConfigSummary
        do {
            summary = try MachineConfigSummary(parsing: MachineConfigPayload(text))
        } catch {
            throw RPCError(code: .invalidArgument, message: "1 error occurred:\n\t* \(error.message)\n\n")
        }
        if node.maintenance {
            guard !dryRun else { return TalosApplyResult(mode: .noReboot, details: "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).") }
            if mode == .staged {
                node.stagedConfig = text
                nodes[address] = node
                return TalosApplyResult(mode: .staged, details: "Staged configuration to be applied after a reboot")
            }
            // Maintenance: REBOOT and AUTO become NO_REBOOT; the node does not reboot, boot goes on
            // and apid comes back with mutual TLS.
            node.maintenance = false
            node.config = summary
            node.configText = text
            nodes[address] = node
            return TalosApplyResult(mode: .noReboot, details: "Applied configuration without a reboot")
        }
        guard !node.rebootPending else {
            throw RPCError(code: .failedPrecondition, message: "configuration was already applied and node is rebooting, reboot the node to apply the configuration again")
        }
        // v1.13 CanApplyImmediate, approximated: the machine type and cluster cannot change in place.
        let immediate = summary.role == node.config?.role && summary.clusterName == node.config?.clusterName && summary.clusterID == node.config?.clusterID
        var chosen = mode
        var details: String
        switch mode {
        case .auto:
            chosen = immediate ? .noReboot : .reboot
            details = immediate ? "Applied configuration without a reboot" : "Applied configuration with a reboot: this config change can't be applied in immediate mode"
        case .noReboot, .tryMode:
            guard immediate else {
                throw RPCError(code: .invalidArgument, message: "1 error occurred:\n\t* this config change can't be applied in immediate mode\n\n")
            }
            details = mode == .tryMode ? "Applied configuration in a try mode" : "Applied configuration without a reboot"
        case .reboot:
            details = "Applied configuration with a reboot"
        case .staged:
            details = "Staged configuration to be applied after a reboot"
        }
        guard !dryRun else { return TalosApplyResult(mode: chosen, details: "Dry run summary:\n" + details) }
        switch chosen {
        case .staged:
            node.stagedConfig = text
        case .reboot:
            node.config = summary
            node.configText = text
            node.rebootPending = true
            node.up = false
            node.rebootUntil = now + timings.reboot
        default:
            node.config = summary
            node.configText = text
        }
        nodes[address] = node
        return TalosApplyResult(mode: chosen, details: details)
    }

    // MARK: Bootstrap (v1alpha1_server.go Bootstrap, system/services/etcd.go BootstrapEtcd)

    mutating func bootstrap(on address: String, recover: Bool, now: ContinuousClock.Instant) throws(RPCError) {
        let node = try checkBootstrap(on: address)
        guard let clusterName = node.config?.clusterName else { return }
        guard !node.etcdData else { throw RPCError(code: .alreadyExists, message: "etcd data directory is not empty") }
        // Nothing here looks at other nodes: a control plane that has not joined starts a second,
        // separate etcd cluster. Recovery errors only show as the etcd service failing.
        var payload = Array("etcd data of \(clusterName), bootstrapped on \(node.hostname)".utf8)
        if recover {
            guard let snapshot = node.recoverySnapshot, EtcdSnapshotFile.verify(snapshot) else {
                nodes[address]?.etcdFailure = node.recoverySnapshot == nil ? "snapshot not found" : "snapshot hash mismatch"
                bootstrapCalls += 1
                return
            }
            payload = Array(Array(snapshot.dropLast(32).reversed().drop { $0 == 0 }).reversed())
        }
        var member = newMember(node, learner: false, now: now)
        member.promoteAt = nil
        clusters.append(EtcdCluster(clusterName: clusterName, members: [member], bootstrappedAt: now, payload: payload))
        nodes[address]?.etcdCluster = clusters.count - 1
        nodes[address]?.etcdData = true
        nodes[address]?.etcdFailure = nil
        bootstrapCalls += 1
    }

    /// Talos' checks before etcd is looked at: the CRI is up, the node is a control plane, time is in sync.
    @discardableResult
    func checkBootstrap(on address: String) throws(RPCError) -> Node {
        let node = try self.node(address)
        guard !node.maintenance, node.criReady else {
            throw RPCError(code: .failedPrecondition, message: "bootstrap is not available yet")
        }
        guard node.isControlPlane, node.config?.clusterName != nil else {
            throw RPCError(code: .unimplemented, message: "bootstrap is only available on control plane nodes")
        }
        guard node.timeSynced else { throw RPCError(code: .failedPrecondition, message: "time is not in sync yet") }
        return node
    }

    // MARK: etcd (API-FACTS.md section 5)

    /// The cluster a control plane's etcd client reaches: its own member's, or (query through the
    /// control-plane endpoints) the one of its Kubernetes cluster.
    private func reachableCluster(from node: Node, _ api: String) throws(RPCError) -> Int {
        try requireControlPlane(node, api)
        if let index = node.etcdCluster { return index }
        if let index = clusters.firstIndex(where: { $0.clusterName == node.config?.clusterName }) { return index }
        throw RPCError(code: .unknown, message: "no controlplane endpoints discovered yet")
    }

    func members(via address: String) throws(RPCError) -> [EtcdMember] {
        let index = try reachableCluster(from: try node(address), "etcd member list")
        guard hasLeader(clusters[index]) else { throw RPCError(code: .unknown, message: "etcdserver: no leader") }
        return clusters[index].members.map {
            let started = !$0.hostname.isEmpty
            return EtcdMember(
                id: $0.id, hostname: $0.hostname, peerURLs: ["https://\($0.address):2380"],
                clientURLs: started ? ["https://\($0.address):2379"] : [], isLearner: $0.isLearner)
        }
    }

    mutating func removeMember(_ id: UInt64, via address: String) throws(RPCError) {
        let node = try self.node(address)
        let index = try reachableCluster(from: node, "etcd remove member")
        try remove(id, from: index, servedBy: node)
    }

    /// etcd's `mayRemoveMember` with strict reconfig checking, then the removal.
    private mutating func remove(_ id: UInt64, from index: Int, servedBy server: Node) throws(RPCError) {
        let cluster = clusters[index]
        guard hasLeader(cluster) else { throw RPCError(code: .unknown, message: "etcdserver: no leader") }
        let refusal = "failed to remove member: failed to remove member \(id): etcdserver: "
        let member = cluster.members.first { $0.id == id }
        if member?.isLearner != true {
            // IsReadyToRemoveVotingMember: started voting members left must be a quorum of those left.
            let others = cluster.members.filter { !$0.isLearner && $0.id != id }
            let started = others.filter { !$0.hostname.isEmpty }.count
            guard started >= others.count / 2 + 1 else {
                throw RPCError(code: .unknown, message: refusal + "re-configuration failed due to not enough started members")
            }
            // A member that is down can go; otherwise the connected voters minus one must stay a quorum.
            let serverID = cluster.members.first { $0.address == server.address }?.id
            if let member, isConnected(member) || member.id == serverID {
                let voting = cluster.members.filter { !$0.isLearner }
                let active = voting.filter { isConnected($0) || $0.id == serverID }.count
                guard active - 1 >= 1 + (voting.count - 1) / 2 else {
                    throw RPCError(code: .unknown, message: refusal + "unhealthy cluster")
                }
            }
        }
        guard let member else {
            throw RPCError(code: .notFound, message: "failed to remove member \(id): etcdserver: member not found")
        }
        clusters[index].members.removeAll { $0.id == id }
        // The removed node keeps its data directory; its etcd no longer belongs anywhere.
        if nodes[member.address]?.etcdCluster == index { nodes[member.address]?.etcdCluster = nil }
    }

    mutating func leave(_ address: String) throws(RPCError) {
        let node = try self.node(address)
        try requireControlPlane(node, "etcd leave cluster")
        guard let index = node.etcdCluster, let member = clusters[index].members.first(where: { $0.address == address }) else {
            throw RPCError(code: .failedPrecondition, message: "etcd is not running on this node")
        }
        try remove(member.id, from: index, servedBy: node)
        nodes[address]?.etcdData = false
        nodes[address]?.etcdStopped = true
    }

    func snapshot(from address: String) throws(RPCError) -> [UInt8] {
        let node = try self.node(address)
        try requireControlPlane(node, "etcd snapshot")
        guard let index = node.etcdCluster, clusters[index].members.contains(where: { $0.address == address && !$0.hostname.isEmpty }) else {
            throw RPCError(code: .unknown, message: "failed to create etcd client: etcd is not running on this node")
        }
        let names = clusters[index].members.map(\.hostname).joined(separator: ",")
        return EtcdSnapshotFile.make(payload: clusters[index].payload + Array("\nmembers=\(names)".utf8))
    }

    mutating func recover(_ snapshot: [UInt8], on address: String) throws(RPCError) {
        let node = try self.node(address)
        guard !node.maintenance, node.config != nil else {
            throw RPCError(code: .failedPrecondition, message: "etcd service is not ready for recovery yet")
        }
        try requireControlPlane(node, "etcd recover")
        nodes[address]?.recoverySnapshot = snapshot
    }

    // MARK: Kubeconfig, Reboot, Reset, ServiceList

    func kubeconfigConfig(_ address: String) throws(RPCError) -> (cluster: String, endpoint: String) {
        let node = try self.node(address)
        try requireControlPlane(node, "kubeconfig")
        guard let cluster = node.config?.clusterName else { throw RPCError(code: .failedPrecondition, message: "machine config is not available") }
        var endpoint = "https://\(address):6443"
        // The v1alpha1 document among the config's documents (Talos 1.13 configs carry several).
        let documents = node.configText.flatMap { try? Array(Yams.load_all(yaml: $0)) } ?? []
        for case let tree as [String: Any] in documents {
            if let controlPlane = (tree["cluster"] as? [String: Any])?["controlPlane"] as? [String: Any],
                let configured = controlPlane["endpoint"] as? String
            {
                endpoint = configured
            }
        }
        return (cluster, endpoint)
    }

    mutating func reboot(_ address: String, now: ContinuousClock.Instant) throws(RPCError) {
        _ = try self.node(address)
        nodes[address]?.up = false
        nodes[address]?.rebootUntil = now + timings.reboot
    }

    mutating func reset(_ address: String, graceful: Bool, reboot: Bool, partitions: [String], now: ContinuousClock.Instant) throws(RPCError) {
        let node = try self.node(address)
        // A graceful reset of a control plane leaves etcd first and aborts if that fails; the
        // reply has gone out already, so only events and logs would show it.
        if graceful, node.isControlPlane, node.etcdCluster != nil {
            do {
                try leave(address)
            } catch {
                return
            }
        }
        let wipeState = partitions.isEmpty || partitions.contains("STATE")
        let wipeEphemeral = partitions.isEmpty || partitions.contains("EPHEMERAL")
        if wipeEphemeral {
            nodes[address]?.etcdData = false
            nodes[address]?.etcdCluster = nil
        }
        if wipeState {
            nodes[address]?.config = nil
            nodes[address]?.configText = nil
        }
        nodes[address]?.up = false
        nodes[address]?.rebootUntil = reboot ? now + timings.reboot : nil
    }

    func services(_ address: String) throws(RPCError) -> [TalosServiceStatus] {
        let node = try self.node(address)
        var services = [
            TalosServiceStatus(id: "apid", state: "Running", healthy: true),
            TalosServiceStatus(id: "machined", state: "Running", healthy: true),
        ]
        guard !node.maintenance else { return services }
        services.append(TalosServiceStatus(id: "cri", state: node.criReady ? "Running" : "Preparing", healthy: node.criReady ? true : nil))
        if node.isControlPlane {
            if let failure = node.etcdFailure {
                services.append(TalosServiceStatus(id: "etcd", state: "Failed", healthy: false, lastMessage: failure))
            } else if let index = node.etcdCluster, let member = clusters[index].members.first(where: { $0.address == address }) {
                services.append(TalosServiceStatus(id: "etcd", state: "Running", healthy: !member.isLearner, lastMessage: member.isLearner ? "etcd member is a learner" : ""))
            } else {
                services.append(TalosServiceStatus(id: "etcd", state: "Preparing", healthy: nil, lastMessage: "Running pre state"))
            }
        }
        services.append(TalosServiceStatus(id: "kubelet", state: "Running", healthy: true))
        return services
    }
}
