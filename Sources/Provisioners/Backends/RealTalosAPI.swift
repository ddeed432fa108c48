public import ClusterKit
import Synchronization

/// The Talos machine API of a real cluster: a ``TalosMachineClient`` built on first use from the
/// cluster's secrets bundle, with a fresh `os:admin` client certificate signed by its OS CA (as
/// `talosctl config new` issues one). The bundle exists before the first machine does
/// (``SecretsStore/prepare(for:until:talosVersion:)``), so every call that reaches a node finds it.
///
/// Calls go straight to each node's own address on apid's port, never through a floating IP
/// that may move mid-run (the talosctl "Endpoints and Nodes" advice). Every failure is a
/// ``ClusterError`` (``ClusterError/backend(_:domain:)``) that keeps the client's retry class.
public final class RealTalosAPI: TalosAPI {
    private let store: SecretsStore
    private let callTimeout: Duration
    private let client = Mutex<TalosMachineClient?>(nil)

    /// - Parameter store: where the cluster's secrets bundle lives.
    public init(store: SecretsStore, callTimeout: Duration = .seconds(30)) {
        self.store = store
        self.callTimeout = callTimeout
    }

    /// Closes the client's connections, when it was built.
    public func shutdown() async {
        let built = client.withLock { current in
            defer { current = nil }
            return current
        }
        await built?.shutdown()
    }

    private func connected() throws -> TalosMachineClient {
        try client.withLock { cached in
            if let cached { return cached }
            let secrets: SecretsBundle
            do {
                secrets = try store.load()
            } catch let error as ClusterError {
                throw ClusterError(
                    .secrets, "the Talos API cannot be reached without the cluster's secrets bundle: \(error.message)",
                    hint: error.hint, cause: error)
            }
            let made = try TalosMachineClient(configuration: .init(credentials: try TalosCredentials.issued(from: secrets), callTimeout: callTimeout))
            cached = made
            return made
        }
    }

    private func call<Result>(_ body: (TalosMachineClient) async throws -> Result) async throws -> Result {
        try await ClusterError.mapping(.talos) { try await body(try connected()) }
    }

    // MARK: TalosAPI

    public func status(of machine: ObservedMachine) async throws -> TalosNodeStatus {
        try await call { try await $0.status(of: machine) }
    }

    public func applyConfiguration(
        _ config: MachineConfigPayload, to machine: ObservedMachine, mode: TalosApplyMode, dryRun: Bool, insecure: Bool
    ) async throws -> TalosApplyResult {
        try await call { try await $0.applyConfiguration(config, to: machine, mode: mode, dryRun: dryRun, insecure: insecure) }
    }

    public func bootstrap(_ machine: ObservedMachine, recoverFromSnapshot: Bool) async throws -> TalosBootstrapOutcome {
        try await call { try await $0.bootstrap(machine, recoverFromSnapshot: recoverFromSnapshot) }
    }

    public func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] {
        try await call { try await $0.etcdMembers(via: machine) }
    }

    public func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws {
        try await call { try await $0.removeEtcdMember(named: name, via: machine) }
    }

    public func removeEtcdMember(id: UInt64, via machine: ObservedMachine) async throws {
        try await call { try await $0.removeEtcdMember(id: id, via: machine) }
    }

    public func leaveEtcd(_ machine: ObservedMachine) async throws {
        try await call { try await $0.leaveEtcd(machine) }
    }

    public func etcdSnapshot(via machine: ObservedMachine, to path: String) async throws -> EtcdSnapshotInfo {
        try await call { try await $0.etcdSnapshot(via: machine, to: path) }
    }

    public func etcdRecover(_ machine: ObservedMachine, from path: String) async throws {
        try await call { try await $0.etcdRecover(machine, from: path) }
    }

    public func kubeconfig(via machine: ObservedMachine) async throws -> String {
        try await call { try await $0.kubeconfig(via: machine) }
    }

    public func version(of machine: ObservedMachine, insecure: Bool) async throws -> TalosVersionInfo {
        try await call { try await $0.version(of: machine, insecure: insecure) }
    }

    public func services(of machine: ObservedMachine) async throws -> [TalosServiceStatus] {
        try await call { try await $0.services(of: machine) }
    }

    public func reboot(_ machine: ObservedMachine, mode: TalosRebootMode) async throws {
        try await call { try await $0.reboot(machine, mode: mode) }
    }

    public func reset(_ machine: ObservedMachine, options: TalosResetOptions) async throws {
        try await call { try await $0.reset(machine, options: options) }
    }
}
