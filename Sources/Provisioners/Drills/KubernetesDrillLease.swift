public import ClusterKit
public import Foundation

/// A real cluster's drill lease: the Kubernetes Lease `kube-system/clusterctl-drill`
/// (coordination.k8s.io/v1), so the lock lives with the cluster and two machines cannot drill it
/// at once.
///
/// The record maps onto the Lease's spec (`holderIdentity`, `leaseDurationSeconds`,
/// `acquireTime`, `renewTime`; the times are `MicroTime`, RFC 3339 with microseconds, per the
/// Kubernetes API reference for Lease v1) and annotations for what the spec has no field for.
/// The first take is a `create` (409 AlreadyExists when it exists); every change after it is a
/// `replace` carrying the `metadata.resourceVersion` just read, which the API server answers
/// with 409 Conflict when another writer got there first, so two drills racing cannot both win.
/// A freed lease keeps its object with an empty `holderIdentity`, as client-go's leader election
/// releases its Lease.
public struct KubernetesDrillLease: DrillLeaseStore {
    public static let reference = KubernetesObjectReference(apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "kube-system", name: "clusterctl-drill")
    static let annotation = "clusterctl.dev/drill-"

    public let api: any KubernetesObjectAPI
    public let holder: String
    public let now: @Sendable () -> Date

    public init(api: any KubernetesObjectAPI, holder: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.api = api
        self.holder = holder
        self.now = now
    }

    /// How many times a write that lost a race is read and decided again.
    static let conflictAttempts = 5

    public func update(_ change: (DrillLeaseRecord?) throws -> DrillLeaseRecord?) async throws {
        // client-go's retry.RetryOnConflict (k8s.io/client-go/util/retry, DefaultRetry: 5 steps):
        // a write that lost the race is read again and `change` decides again on what is there
        // now, so a drill's renewal crossing `drill stop`'s request ends neither, while the
        // lease's rules still refuse a second holder.
        var attempt = 1
        while true {
            do {
                return try await updateOnce(change)
            } catch let race as LostRace {
                guard attempt < Self.conflictAttempts else { throw race.error }
                attempt += 1
            }
        }
    }

    /// A write the API server answered with 409: another writer got there first.
    private struct LostRace: Error {
        let error: ClusterError
    }

    /// One read-modify-write; ``LostRace`` when the API server refused it with 409.
    private func updateOnce(_ change: (DrillLeaseRecord?) throws -> DrillLeaseRecord?) async throws {
        let stored = try await api.object(Self.reference)
        let current = stored.flatMap(Self.record(from:))
        let next = try change(current)
        guard next != current else { return }
        var object = Self.object(next)
        guard let version = stored?.resourceVersion else {
            do {
                try await api.create(object)
            } catch let error as ClusterError where error.code == .refused {
                throw LostRace(error: ClusterError(.refused, "another drill took this cluster's drill lease at the same moment", hint: "run the command again", cause: error))
            }
            return
        }
        object.json["metadata"]?["resourceVersion"] = .string(version)
        do {
            try await api.replace(object)
        } catch let error as ClusterError where error.code == .refused {
            throw LostRace(error: ClusterError(.refused, "the drill lease changed while it was being written (another drill or `drill stop`)", hint: "run the command again", cause: error))
        }
    }

    /// The record a Lease holds; nil when it is free (no `holderIdentity`).
    static func record(from object: KubernetesObject) -> DrillLeaseRecord? {
        let spec = object.json["spec"]
        guard let holder = spec?["holderIdentity"]?.stringValue, !holder.isEmpty else { return nil }
        let annotations = object.json.value(at: ["metadata", "annotations"])
        let note = { (key: String) in annotations?[annotation + key]?.stringValue }
        let acquired = spec?["acquireTime"]?.stringValue.flatMap(MicroTime.date(from:)) ?? .distantPast
        var record = DrillLeaseRecord(
            holder: holder, command: note("command") ?? "", acquiredAt: acquired, durationSeconds: Double(spec?["leaseDurationSeconds"]?.intValue ?? 0))
        record.renewedAt = spec?["renewTime"]?.stringValue.flatMap(MicroTime.date(from:)) ?? acquired
        record.scenario = note("scenario")
        record.faultNode = note("fault-node")
        record.stopRequested = note("stop-requested")
        return record
    }

    /// The Lease for `record`; a free Lease for nil.
    static func object(_ record: DrillLeaseRecord?) -> KubernetesObject {
        var annotations: [String: JSONValue] = [:]
        var spec: [String: JSONValue] = [:]
        if let record {
            let notes = ["command": record.command, "scenario": record.scenario, "fault-node": record.faultNode, "stop-requested": record.stopRequested]
            for case let (key, value?) in notes { annotations[annotation + key] = .string(value) }
            spec = [
                "holderIdentity": .string(record.holder),
                // int32 in the API: whole seconds, rounded up so the lease never ends early.
                "leaseDurationSeconds": .number(record.durationSeconds.rounded(.up)),
                "acquireTime": .string(MicroTime.string(from: record.acquiredAt)),
                "renewTime": .string(MicroTime.string(from: record.renewedAt)),
            ]
        }
        var metadata: [String: JSONValue] = ["name": .string(reference.name), "namespace": .string(reference.namespace ?? "kube-system")]
        if !annotations.isEmpty { metadata["annotations"] = .object(annotations) }
        return KubernetesObject(json: .object([
            "apiVersion": .string(reference.apiVersion), "kind": .string(reference.kind), "metadata": .object(metadata), "spec": .object(spec),
        ]))
    }
}

/// Kubernetes `MicroTime`: RFC 3339 with six fractional digits, in UTC.
enum MicroTime {
    static func string(from date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down))
        let whole = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds)).dropLast()
        return "\(whole).\(String(format: "%06d", micros))Z"
    }

    static func date(from text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) {
            // The formatter keeps milliseconds only; the microseconds are added back.
            if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." }) {
                let digits = text[text.index(after: dot)..<end]
                if digits.count > 3, let fraction = Double("0." + digits) {
                    return Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down) + fraction)
                }
            }
            return date
        }
        return ISO8601DateFormatter().date(from: text)
    }
}
