import ClusterKit
import Foundation
import GRPCCore
import Synchronization

/// The etcd-backed mode of ``TalosAPIPeer``: the peer's etcd calls go to a real etcd cluster
/// (``EtcdTestCluster``, one member per control-plane node, named by its hostname), so quorum,
/// learner and strict-reconfiguration refusals are etcd's own. Talos' side of each call follows
/// ../shared/reference/talos/API-FACTS.md sections 4 and 5 and FAILOVER-FACTS.md section 1
/// (Talos `internal/pkg/etcd/etcd.go`, `internal/app/machined/pkg/system/services/etcd.go`).
///
/// Opt-in per test (``TalosAPIPeer/useRealEtcd(_:timings:)``); the in-memory etcd of
/// ``TalosPeerWorld`` stays the default.
public final class TalosPeerEtcd: Sendable {
    /// How long Talos' loops run here (real time; short in tests).
    public struct Timings: Sendable {
        /// Between `MemberPromote` attempts of a joining learner (Talos: about 2 s).
        public var promoteInterval: Duration
        /// How long a learner keeps trying to be promoted (Talos: 10 min).
        public var promoteTimeout: Duration
        /// How long EtcdLeaveCluster retries "unhealthy cluster" (Talos: 5 min).
        public var leaveRetry: Duration

        public init(promoteInterval: Duration = .milliseconds(250), promoteTimeout: Duration = .seconds(30), leaveRetry: Duration = .seconds(1)) {
            self.promoteInterval = promoteInterval
            self.promoteTimeout = promoteTimeout
            self.leaveRetry = leaveRetry
        }
    }

    public let etcd: EtcdTestCluster
    let timings: Timings
    /// Strong: ``TalosAPIPeer/shutdown()`` drops the peer's reference to this, ending the cycle.
    private let peer: TalosAPIPeer
    private let recoverySnapshots = Mutex<[String: [UInt8]]>([:])
    private let joins = Mutex<[Task<Void, Never>]>([])
    /// Why a node's etcd service failed (a recovery from a bad snapshot, a join that gave up).
    private let failures = Mutex<[String: String]>([:])

    init(etcd: EtcdTestCluster, timings: Timings, peer: TalosAPIPeer) {
        self.etcd = etcd
        self.timings = timings
        self.peer = peer
    }

    /// Why the node's etcd service failed, if it did.
    public func failure(of address: String) -> String? { failures.withLock { $0[address] } }

    /// Waits for every join started so far.
    public func waitForJoins() async {
        let tasks = joins.withLock { $0 }
        for task in tasks { await task.value }
    }

    func cancelJoins() {
        for task in joins.withLock({ $0 }) { task.cancel() }
    }

    // MARK: Node checks

    /// The hostname of a configured control plane that answers, or Talos' refusal.
    private func controlPlane(_ address: String, _ api: String) throws(RPCError) -> String {
        let node = try peer.world.withLock { world throws(RPCError) in try world.node(address) }
        guard node.isControlPlane, !node.maintenance else {
            throw RPCError(code: .unimplemented, message: "\(api) is only available on control plane nodes")
        }
        return node.hostname
    }

    /// The member a node's etcd client reaches: its own when it runs, else (Talos' client from
    /// the control-plane endpoints) any running member.
    private func endpoint(for hostname: String) throws(RPCError) -> String {
        if etcd.isRunning(hostname) { return hostname }
        guard let any = etcd.runningNames.first else {
            throw RPCError(code: .unknown, message: "failed to create etcd client: context deadline exceeded")
        }
        return any
    }

    private static func rpc(_ error: any Error, prefix: String = "") -> RPCError {
        if let error = error as? RPCError { return error }
        return RPCError(code: .unknown, message: prefix + "\(error)")
    }

    // MARK: Calls

    func members(via address: String) async throws(RPCError) -> [EtcdMember] {
        let hostname = try controlPlane(address, "etcd member list")
        let via = try endpoint(for: hostname)
        do {
            return try await etcd.members(via: via).map {
                EtcdMember(id: $0.id, hostname: $0.name, peerURLs: $0.peerURLs, clientURLs: $0.clientURLs, isLearner: $0.isLearner)
            }
        } catch {
            throw Self.rpc(error)
        }
    }

    func removeMember(_ id: UInt64, via address: String) async throws(RPCError) {
        let hostname = try controlPlane(address, "etcd remove member")
        let via = try endpoint(for: hostname)
        do {
            try await etcd.remove(id, via: via)
        } catch let error as EtcdTestCluster.EtcdError where error.code == 5 {
            throw RPCError(code: .notFound, message: "failed to remove member \(id): \(error.message)")
        } catch {
            throw Self.rpc(error, prefix: "failed to remove member: failed to remove member \(id): ")
        }
    }

    /// `LeaveCluster`: remove the own member, stop etcd, wipe `/var/lib/etcd`. As Talos'
    /// `Client.LeaveCluster` does, the removal is retried on "unhealthy cluster" and "server
    /// stopped" (a member that removed itself stops about a second later, which may cut its own
    /// answer short), through the control planes' etcd endpoints in turn, and a member that is
    /// already gone counts as left.
    func leave(_ address: String) async throws(RPCError) {
        let hostname = try controlPlane(address, "etcd leave cluster")
        guard etcd.isRunning(hostname) else { throw RPCError(code: .failedPrecondition, message: "etcd is not running on this node") }
        let own: UInt64
        do {
            guard let member = try await etcd.members(via: hostname).first(where: { $0.name == hostname }) else {
                throw RPCError(code: .unknown, message: "failed to leave cluster: local member not found in the member list")
            }
            own = member.id
        } catch {
            throw Self.rpc(error, prefix: "failed to leave cluster: ")
        }
        let deadline = ContinuousClock.now + timings.leaveRetry
        var attempt = 0
        while true {
            let endpoints = [hostname] + etcd.runningNames.filter { $0 != hostname }
            let via = endpoints[attempt % endpoints.count]
            attempt += 1
            do {
                try await etcd.remove(own, via: via)
                break
            } catch let error as EtcdTestCluster.EtcdError where error.code == 5 {
                break  // ErrMemberNotFound: an earlier attempt removed it
            } catch let error as EtcdTestCluster.EtcdError where Self.isRetriedOnLeave(error) && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(200))
            } catch {
                throw Self.rpc(error, prefix: "failed to leave cluster: ")
            }
        }
        etcd.wipe(hostname)
    }

    /// ErrUnhealthy and ErrStopped, and an endpoint that no longer answers (etcd's client moves
    /// on to the next endpoint).
    private static func isRetriedOnLeave(_ error: EtcdTestCluster.EtcdError) -> Bool {
        error.message.contains("unhealthy cluster") || error.message.contains("server stopped") || error.message.hasPrefix("cannot reach etcd member")
    }

    func snapshot(from address: String) async throws(RPCError) -> [UInt8] {
        let hostname = try controlPlane(address, "etcd snapshot")
        guard etcd.isRunning(hostname) else {
            throw RPCError(code: .unknown, message: "failed to create etcd client: etcd is not running on this node")
        }
        do {
            return try await etcd.snapshot(via: hostname)
        } catch {
            throw Self.rpc(error, prefix: "failed reading etcd snapshot: ")
        }
    }

    func recover(_ snapshot: [UInt8], on address: String) throws(RPCError) {
        let node = try peer.world.withLock { world throws(RPCError) in try world.node(address) }
        guard !node.maintenance, node.config != nil else {
            throw RPCError(code: .failedPrecondition, message: "etcd service is not ready for recovery yet")
        }
        _ = try controlPlane(address, "etcd recover")
        recoverySnapshots.withLock { $0[address] = snapshot }
    }

    /// Bootstrap after Talos' own checks (done by the world): a non-empty data directory is
    /// AlreadyExists; otherwise the reply goes out and etcd starts afterwards, as a new
    /// one-member cluster or restored from the uploaded snapshot. The other control planes then join.
    func bootstrap(on address: String, recover: Bool) throws(RPCError) {
        let hostname = try controlPlane(address, "bootstrap")
        guard !etcd.hasData(hostname), !etcd.isRunning(hostname) else {
            throw RPCError(code: .alreadyExists, message: "etcd data directory is not empty")
        }
        let snapshot = recoverySnapshots.withLock { $0[address] }
        failures.withLock { $0[address] = nil }
        peer.world.withLock { $0.bootstrapCalls += 1 }
        let task = Task {
            do {
                if recover {
                    guard let snapshot else { throw TestSupportError("snapshot not found") }
                    let file = etcd.directory + "/recover-\(hostname).snapshot"
                    try Data(snapshot).write(to: URL(fileURLWithPath: file))
                    try await etcd.restore(snapshot: file, as: hostname)
                } else {
                    try await etcd.bootstrap([hostname])
                }
            } catch {
                // etcdctl's own line ("Error: expected sha256 ..."), as the etcd service's last message.
                let text = "\(error)"
                let line = text.split(whereSeparator: \.isNewline).last { $0.hasPrefix("Error: ") }.map { String($0.dropFirst(7)) }
                failures.withLock { $0[address] = line ?? text }
                return
            }
            await joinWaitingControlPlanes()
        }
        joins.withLock { $0.append(task) }
    }

    /// Every configured control plane that answers and has no etcd data joins, one at a time
    /// (etcd allows one learner).
    public func joinWaitingControlPlanes() async {
        let waiting = peer.world.withLock { world in
            world.nodes.values.filter { $0.up && $0.isControlPlane && !$0.maintenance }.map { ($0.address, $0.hostname) }.sorted { $0.0 < $1.0 }
        }
        for (address, hostname) in waiting where !etcd.isRunning(hostname) && !etcd.hasData(hostname) {
            do {
                try await join(hostname)
            } catch {
                failures.withLock { $0[address] = "\(error)" }
            }
        }
    }

    /// Talos' join (`services/etcd.go` `addMember`, then the promotion loop): remove any member
    /// with the own hostname, add the own peer URL as a learner, start etcd with the cluster as
    /// it now is, then `MemberPromote` until etcd accepts (it refuses while the learner is not
    /// in sync with the leader).
    public func join(_ hostname: String) async throws {
        guard let via = etcd.runningNames.first(where: { $0 != hostname }) else { throw TestSupportError("no running etcd member to join through") }
        let own = try etcd.prepare(hostname)
        let deadline = ContinuousClock.now + timings.promoteTimeout
        // Talos retries the whole add for up to EtcdJoinTimeout: etcd refuses reconfiguration
        // ("unhealthy cluster") until every voter has been connected for 5 s, and while another
        // learner exists ("too many learner members in cluster").
        var id: UInt64 = 0
        while true {
            do {
                let existing = try await etcd.members(via: via)
                for stale in existing where stale.name == hostname { try await etcd.remove(stale.id, via: via) }
                try? FileManager.default.removeItem(atPath: own.dataDirectory)
                // A learner with the own peer URL and no name yet is this node's earlier, unfinished join: reuse it.
                if let unfinished = existing.first(where: { $0.isLearner && $0.name.isEmpty && $0.peerURLs == [own.peerURL] }) {
                    id = unfinished.id
                } else {
                    id = try await etcd.addMember(hostname, learner: true, via: via)
                }
                break
            } catch is EtcdTestCluster.EtcdError where ContinuousClock.now < deadline && !Task.isCancelled {
                try await Task.sleep(for: timings.promoteInterval)
            }
        }
        let members = try await etcd.members(via: via)
        let initial = members.map { member in
            let name = member.id == id ? hostname : member.name
            return "\(name)=\(member.peerURLs.first ?? own.peerURL)"
        }.joined(separator: ",")
        try etcd.launch(hostname, initialCluster: initial, state: "existing")
        while true {
            do {
                try await etcd.promote(id, via: via)
                return
            } catch is EtcdTestCluster.EtcdError where ContinuousClock.now < deadline && !Task.isCancelled {
                try await Task.sleep(for: timings.promoteInterval)
            }
        }
    }

    /// A node losing power stops its member; power coming back restarts it on its data.
    func power(_ address: String, up: Bool) {
        guard let hostname = peer.world.withLock({ $0.nodes[address]?.hostname }) else { return }
        if up {
            if etcd.hasData(hostname), !etcd.isRunning(hostname) { try? etcd.launch(hostname, initialCluster: "", state: "existing") }
        } else {
            etcd.stop(hostname)
        }
    }

    /// The etcd service as ServiceList shows it.
    func service(_ address: String, hostname: String) -> TalosServiceStatus {
        if let failure = failure(of: address) { return TalosServiceStatus(id: "etcd", state: "Failed", healthy: false, lastMessage: failure) }
        if etcd.isRunning(hostname) { return TalosServiceStatus(id: "etcd", state: "Running", healthy: true) }
        return TalosServiceStatus(id: "etcd", state: "Preparing", healthy: nil, lastMessage: "Running pre state")
    }
}
