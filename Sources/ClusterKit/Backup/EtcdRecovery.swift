public import Foundation

/// Disaster recovery of etcd from a snapshot, the way Talos documents it ("Disaster Recovery",
/// https://docs.siderolabs.com/talos/v1.13/build-and-extend-talos/cluster-operations-and-maintenance/disaster-recovery,
/// earlier https://www.talos.dev/latest/advanced/disaster-recovery/; siderolabs/docs
/// `talos/v1.14/.../disaster-recovery.mdx` as summarised in FAILOVER-FACTS.md section 1.4; the
/// mechanism is Talos commit e0650218 "support etcd recovery from snapshot on bootstrap"):
///
/// 1. the snapshot is checked first (etcd's trailing SHA-256);
/// 2. refused when some control plane still has a working etcd: "restoring quorum might be a
///    better strategy", and a restore would start a second, separate cluster;
/// 3. every control plane must show etcd `Preparing` (configured, empty `/var/lib/etcd`);
/// 4. `EtcdRecover` uploads the snapshot to exactly one of them, then `Bootstrap` with
///    `recover_etcd` there; the others join by themselves once the control-plane endpoint is up;
/// 5. done when every control plane is a voting member.
public struct EtcdRecovery: Sendable {
    /// One step, for `--dry-run` and the report.
    public struct Step: Sendable, Codable, Hashable {
        public var node: String?
        public var action: String
    }

    public let talos: any TalosAPI
    public let time: any TimeSource
    /// How often membership is polled while the others join.
    public var pollInterval: Duration
    /// How long the others may take to join (Talos' own join retries last up to 30 min).
    public var joinTimeout: Duration

    public init(talos: any TalosAPI, time: any TimeSource, pollInterval: Duration = .seconds(5), joinTimeout: Duration = .seconds(1800)) {
        self.talos = talos
        self.time = time
        self.pollInterval = pollInterval
        self.joinTimeout = joinTimeout
    }

    /// Checks the snapshot and the control planes and returns what ``recover(controlPlanes:from:)``
    /// would do, changing nothing.
    /// - Throws: ``ClusterError`` `.invalidSpec` for a damaged snapshot, `.refused` when etcd
    ///   still works somewhere or a control plane is not ready for recovery.
    /// The snapshot's check; throws unless it is intact.
    public static func checkSnapshot(_ path: String) throws(ClusterError) -> EtcdSnapshotCheck {
        let check = try EtcdSnapshotCheck.read(path)
        guard check.intact else {
            throw ClusterError(
                .invalidSpec, "\(path) is not an intact etcd snapshot (\(check.size) bytes; its trailing SHA-256 does not match the data, or the size is not whole 512-byte blocks plus 32); nothing was changed",
                hint: "use another snapshot; a copied `db` file without etcd's hash cannot be checked and is not accepted here")
        }
        return check
    }

    /// Refuses when any of the control planes still reaches a working etcd.
    public func refuseIfEtcdWorks(_ controlPlanes: [ObservedMachine]) async throws {
        for machine in controlPlanes.sorted(by: { $0.identity.node < $1.identity.node }) {
            if let members = try? await talos.etcdMembers(via: machine), !members.isEmpty {
                throw ClusterError(
                    .refused, "\(machine.identity.node) still reaches a working etcd (\(members.count) members: \(members.map { $0.hostname.isEmpty ? $0.hexID : $0.hostname }.joined(separator: ", "))): this is not a disaster, and a restore would start a second, separate etcd cluster; nothing was changed",
                    hint: "replace lost control planes one at a time instead (remove the dead member, then add a node), or take a snapshot with `clusterctl etcd snapshot`")
            }
        }
    }

    public func plan(controlPlanes: [ObservedMachine], from path: String) async throws -> [Step] {
        let check = try Self.checkSnapshot(path)
        guard !controlPlanes.isEmpty else {
            throw ClusterError(.refused, "no running control-plane machine to restore onto; nothing was changed", hint: "create the control-plane machines first (`clusterctl up --until machines`), then run the restore again")
        }
        try await refuseIfEtcdWorks(controlPlanes)
        var notReady: [String] = []
        for machine in controlPlanes.sorted(by: { $0.identity.node < $1.identity.node }) {
            let node = machine.identity.node
            let services: [TalosServiceStatus]
            do {
                services = try await talos.services(of: machine)
            } catch {
                notReady.append("\(node): Talos API does not answer")
                continue
            }
            let etcd = services.first { $0.id == "etcd" }
            if etcd?.state != "Preparing" {
                notReady.append("\(node): etcd is \(etcd?.state ?? "absent")")
            }
        }
        guard notReady.isEmpty else {
            throw ClusterError(
                .refused, "every control plane must show etcd Preparing before a restore (\(notReady.joined(separator: "; "))); nothing was changed",
                hint: "on a node whose etcd is broken, wipe it: `talosctl reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL` (Talos Disaster Recovery guide)")
        }
        let ordered = controlPlanes.map(\.identity.node).sorted()
        let first = ordered[0]
        return [
            Step(node: nil, action: "check \(path): \(check.size) bytes, sha256 \(check.sha256)" + (check.revision.map { ", revision \($0)" } ?? "")),
            Step(node: first, action: "upload the snapshot (EtcdRecover)"),
            Step(node: first, action: "bootstrap etcd from it (Bootstrap recover_etcd=true)"),
        ] + ordered.dropFirst().map { Step(node: $0, action: "wait until it joins etcd as a voting member") }
    }

    /// Runs the recovery; returns the steps taken.
    public func recover(controlPlanes: [ObservedMachine], from path: String) async throws -> [Step] {
        let steps = try await plan(controlPlanes: controlPlanes, from: path)
        let ordered = controlPlanes.sorted { $0.identity.node < $1.identity.node }
        let first = ordered[0]
        try await talos.etcdRecover(first, from: path)
        if try await talos.bootstrap(first, recoverFromSnapshot: true) == .alreadyBootstrapped {
            throw ClusterError(.refused, "\(first.identity.node) already holds etcd data (AlreadyExists); nothing was restored", hint: "wipe its EPHEMERAL partition first, as the Talos Disaster Recovery guide says")
        }
        let expected = Set(ordered.map(\.identity.node))
        let started = time.now
        var last = "no answer yet"
        while time.now - started < joinTimeout {
            if let failure = try? await talos.services(of: first).first(where: { $0.id == "etcd" && $0.state == "Failed" }) {
                throw ClusterError(.talos, "etcd on \(first.identity.node) failed to start from the snapshot: \(failure.lastMessage)", hint: "check the snapshot; take the node's etcd logs with `talosctl -n \(first.identity.node) logs etcd`")
            }
            do {
                let members = try await talos.etcdMembers(via: first)
                let voting = Set(members.filter { !$0.isLearner }.map(\.hostname))
                if expected.isSubset(of: voting) { return steps }
                last = "voting members: " + voting.sorted().joined(separator: ", ")
            } catch {
                last = "\(error)"
            }
            try await time.sleep(for: pollInterval)
        }
        throw ClusterError(.timeout, "etcd was restored on \(first.identity.node), but not every control plane joined within \(joinTimeout) (\(last))", hint: "run the restore's last step again by waiting with `clusterctl status`; a node that never joins can be replaced")
    }
}
