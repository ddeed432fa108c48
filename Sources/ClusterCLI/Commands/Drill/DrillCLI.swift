import ClusterKit
import Foundation
import Provisioners
#if canImport(Glibc)
    import Glibc
#endif

/// What the drill commands share: the lease, the heartbeat, and report rendering.
enum DrillCLI {
    static var commandLine: String { (["clusterctl"] + CommandLine.arguments.dropFirst()).joined(separator: " ") }

    /// `user@host pid N`, the lease's holder identity.
    static var holder: String {
        let user = ProcessInfo.processInfo.environment["USER"] ?? "uid \(getuid())"
        return "\(user)@\(ProcessInfo.processInfo.hostName) pid \(getpid())"
    }

    /// The cluster's drill lease: on real providers the Lease `kube-system/clusterctl-drill`,
    /// reached through the admin kubeconfig a running control plane hands out; in the simulator
    /// the same record beside its world.
    static func lease(_ session: Session) -> any DrillLeaseStore {
        guard session.options.simulate else {
            return KubernetesDrillLease(api: RealBackends.kubernetesAPI(spec: session.spec, store: session.secrets), holder: holder)
        }
        return SimulatedDrillLease(directory: session.stateDirectory, holder: holder)
    }

    /// Reads or changes the lease; a failure to reach it (not a refusal by its rules) is a
    /// refusal that says nothing was broken, for `doing` (`take`, `read`).
    static func reaching<Value: Sendable>(
        _ lease: any DrillLeaseStore, _ doing: String, cluster: String, _ body: @escaping @Sendable (any DrillLeaseStore) async throws -> Value
    ) throws -> Value {
        do { return try runBlocking { try await body(lease) } } catch let error as ClusterError where error.code != .refused {
            guard lease is KubernetesDrillLease else { throw error }
            throw ClusterError(
                .refused, "cannot \(doing) the drill lease of cluster \(cluster) (the Lease kube-system/clusterctl-drill): \(error.message); nothing was changed",
                hint: "the lease lives in the cluster's Kubernetes API, reached through a running control plane: check it with `clusterctl status \(cluster)`",
                cause: error)
        }
    }

    /// Prints one drill event as a progress line on stderr, whatever `--output` is: stdout
    /// carries the report alone, for scripts.
    @Sendable static func progress(_ event: DrillEvent) {
        let time = event.elapsed.formattedSeconds
        let node = (event.node ?? "").padding(toLength: 16, withPad: " ", startingAt: 0)
        let step = event.step.padding(toLength: 22, withPad: " ", startingAt: 0)
        Terminal.error("[\(String(repeating: " ", count: max(0, 7 - time.count)))\(time)] \(event.kind.mark) \(node) \(step) \(event.message)")
    }

    /// Reports in JSON the same way the history stores them (dates ISO 8601).
    static func document<Value: Encodable>(_ value: Value, format: OutputFormat) throws -> String {
        if format == .yaml { return try Terminal.document(value, format: .yaml) }
        return String(decoding: try DrillReport.encoder().encode(value), as: UTF8.self)
    }

    /// Pushes one heartbeat for the run. Returns false (after saying why) when it could not be sent.
    static func pushHeartbeat(_ reports: [DrillReport], spec: DrillSpec) -> Bool {
        guard let reference = spec.heartbeatURL else { return true }
        let url: String
        switch reference {
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                Terminal.error("warning: \(name) is not set, so no heartbeat was sent (drills.heartbeatURLEnv)")
                return true
            }
            url = value
        case .file(let path):
            do { url = try SecureFile.readPrivate(URL(fileURLWithPath: NSString(string: path).expandingTildeInPath), what: "the heartbeat URL file") } catch {
                Terminal.error("error: no heartbeat was sent: \(error.message)")
                return false
            }
        }
        SecretScrubber.shared.register(url)
        do {
            let heartbeat = try DrillHeartbeat(url: url, source: reference.description)
            try runBlocking { try await heartbeat.push(reports) }
            Terminal.error("heartbeat sent to \(heartbeat.service.rawValue) at \(heartbeat.host)")
            return true
        } catch {
            Terminal.error("error: no heartbeat was sent: \(error)")
            return false
        }
    }
}
