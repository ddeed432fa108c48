public import Foundation

/// Takes an etcd snapshot of a cluster into a directory and keeps the newest N there.
///
/// Talos' backup path is `EtcdSnapshot` against one control plane (`talosctl -n <cp> etcd
/// snapshot`, docs "Disaster Recovery", FAILOVER-FACTS.md section 1.4). The node is one whose
/// etcd service runs and is healthy (Talos' health check is a quorum read, section 1.1 item 6),
/// tried in name order until one serves the snapshot.
///
/// Files are named `etcd-<UTC yyyyMMdd'T'HHmmss.SSS'Z'>.snapshot`, so names sort by time; pruning
/// looks only at names of exactly that form and never deletes the one just taken.
public struct EtcdBackup: Sendable {
    /// What one snapshot produced.
    public struct Outcome: Sendable, Codable, Hashable {
        public var path: String
        /// The control plane that served it.
        public var node: String
        public var size: Int
        public var revision: Int?
        /// etcd's trailing SHA-256 of the database, hex.
        public var sha256: String
        /// UTC, ISO 8601.
        public var takenAt: String
        /// Older snapshots deleted to keep the newest `keep`.
        public var pruned: [String]
        /// Control planes passed over, with why.
        public var skipped: [String: String]

        enum CodingKeys: String, CodingKey {
            case path, node, size, revision, sha256, pruned, skipped
            case takenAt = "taken_at"
        }
    }

    public let spec: ClusterSpec
    public let backend: ClusterBackend

    public init(spec: ClusterSpec, backend: ClusterBackend) {
        self.spec = spec
        self.backend = backend
    }

    /// The file name of a snapshot taken at `date`.
    public static func fileName(at date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        return "etcd-\(formatter.string(from: date)).snapshot"
    }

    /// Whether a file name is one ``fileName(at:)`` makes (and so one pruning may delete).
    public static func isSnapshotName(_ name: String) -> Bool {
        let pattern = #"^etcd-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z\.snapshot$"#
        return name.range(of: pattern, options: .regularExpression) != nil
    }

    /// Takes one snapshot into `directory` (created 0700 if missing) and prunes to `keep`.
    /// - Throws: ``ClusterError`` `.refused` when no control plane has a healthy etcd, with each one's reason.
    public func take(into directory: URL, keep: Int?, now: Date) async throws -> Outcome {
        if let keep, keep < 1 {
            throw ClusterError(.invalidSpec, "--keep must be at least 1 (it was \(keep)); the snapshot just taken is always kept", hint: "pass --keep 1 or more, or leave it out to keep every snapshot")
        }
        try SecureFile.ensureDirectory(directory)
        let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
        let candidates = observed.machines.filter { $0.identity.role == .controlPlane && $0.phase == .running }
        var skipped: [String: String] = [:]
        let name = Self.fileName(at: now)
        let path = directory.appendingPathComponent(name).path
        for machine in candidates {
            let node = machine.identity.node
            do {
                let services = try await backend.talos.services(of: machine)
                guard let etcd = services.first(where: { $0.id == "etcd" }) else {
                    skipped[node] = "runs no etcd service"
                    continue
                }
                guard etcd.state == "Running", etcd.healthy == true else {
                    skipped[node] = "etcd is \(etcd.state)\(etcd.healthy == false ? ", unhealthy" : "")\(etcd.lastMessage.isEmpty ? "" : ": \(etcd.lastMessage)")"
                    continue
                }
                let info = try await backend.talos.etcdSnapshot(via: machine, to: path)
                let check = try EtcdSnapshotCheck.read(info.path)
                guard check.intact else {
                    try? FileManager.default.removeItem(atPath: info.path)
                    skipped[node] = "served a snapshot whose SHA-256 does not match its data; it was deleted"
                    continue
                }
                let pruned = try prune(directory, keep: keep, keeping: name)
                return Outcome(
                    path: info.path, node: node, size: info.size, revision: check.revision, sha256: check.sha256,
                    takenAt: ISO8601DateFormatter().string(from: now), pruned: pruned, skipped: skipped)
            } catch {
                skipped[node] = oneLine(error)
            }
        }
        let reasons = candidates.isEmpty ? "no running control-plane machine" : skipped.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        throw ClusterError(
            .refused, "no control plane of \(spec.name) could serve an etcd snapshot (\(reasons)); nothing was written",
            hint: "check `clusterctl status \(spec.name)`; if the whole control plane is gone, restore from an earlier snapshot with `clusterctl etcd restore`")
    }

    /// Deletes the oldest snapshots (by name) beyond `keep`, never `keeping` and never a file
    /// whose name this type did not make.
    func prune(_ directory: URL, keep: Int?, keeping: String) throws -> [String] {
        guard let keep else { return [] }
        let names = (try FileManager.default.contentsOfDirectory(atPath: directory.path)).filter(Self.isSnapshotName).sorted()
        guard names.count > keep else { return [] }
        var deleted: [String] = []
        for name in names.prefix(names.count - keep) where name != keeping {
            let path = directory.appendingPathComponent(name).path
            do {
                try FileManager.default.removeItem(atPath: path)
                deleted.append(path)
            } catch {
                throw ClusterError(.io, "the snapshot was saved, but deleting the old snapshot \(path) failed: \(error.localizedDescription)", hint: "delete it by hand or check the directory's permissions")
            }
        }
        return deleted
    }

    private func oneLine(_ error: any Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
    }
}
