import ClusterKit
import Synchronization

/// Counts the Talos API calls a run makes.
final class CountingTalosAPI: TalosAPI {
    private let inner: any TalosAPI
    private let count = Mutex(0)

    init(_ inner: any TalosAPI) { self.inner = inner }

    var calls: Int { count.withLock { $0 } }

    private func counted<T>(_ body: () async throws -> T) async rethrows -> T {
        count.withLock { $0 += 1 }
        return try await body()
    }

    func status(of machine: ObservedMachine) async throws -> TalosNodeStatus { try await counted { try await inner.status(of: machine) } }
    func applyConfiguration(
        _ config: MachineConfigPayload, to machine: ObservedMachine, mode: TalosApplyMode, dryRun: Bool, insecure: Bool
    ) async throws -> TalosApplyResult {
        try await counted { try await inner.applyConfiguration(config, to: machine, mode: mode, dryRun: dryRun, insecure: insecure) }
    }
    func bootstrap(_ machine: ObservedMachine, recoverFromSnapshot: Bool) async throws -> TalosBootstrapOutcome {
        try await counted { try await inner.bootstrap(machine, recoverFromSnapshot: recoverFromSnapshot) }
    }
    func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] { try await counted { try await inner.etcdMembers(via: machine) } }
    func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws {
        try await counted { try await inner.removeEtcdMember(named: name, via: machine) }
    }
    func removeEtcdMember(id: UInt64, via machine: ObservedMachine) async throws {
        try await counted { try await inner.removeEtcdMember(id: id, via: machine) }
    }
    func leaveEtcd(_ machine: ObservedMachine) async throws { try await counted { try await inner.leaveEtcd(machine) } }
    func etcdSnapshot(via machine: ObservedMachine, to path: String) async throws -> EtcdSnapshotInfo {
        try await counted { try await inner.etcdSnapshot(via: machine, to: path) }
    }
    func etcdRecover(_ machine: ObservedMachine, from path: String) async throws { try await counted { try await inner.etcdRecover(machine, from: path) } }
    func kubeconfig(via machine: ObservedMachine) async throws -> String { try await counted { try await inner.kubeconfig(via: machine) } }
    func version(of machine: ObservedMachine, insecure: Bool) async throws -> TalosVersionInfo {
        try await counted { try await inner.version(of: machine, insecure: insecure) }
    }
    func services(of machine: ObservedMachine) async throws -> [TalosServiceStatus] { try await counted { try await inner.services(of: machine) } }
    func reboot(_ machine: ObservedMachine, mode: TalosRebootMode) async throws { try await counted { try await inner.reboot(machine, mode: mode) } }
    func reset(_ machine: ObservedMachine, options: TalosResetOptions) async throws { try await counted { try await inner.reset(machine, options: options) } }
}
