import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The backends a ``TalosAPI`` contract test runs against.
enum TalosBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// The simulator on its virtual clock.
    case simulator
    /// The gRPC client over mutual TLS against the loopback Talos API peer.
    case wire

    var testDescription: String { rawValue }
}

/// Three control planes and a worker, all booted into maintenance mode, behind one ``TalosAPI``.
struct TalosContractCluster: Sendable {
    let api: any TalosAPI
    let controlPlanes: [ObservedMachine]
    let worker: ObservedMachine
    let config: @Sendable (ObservedMachine) -> MachineConfigPayload
    /// Sleeps on the backend's clock (virtual for the simulator).
    let sleep: @Sendable () async throws -> Void

    var all: [ObservedMachine] { controlPlanes + [worker] }

    /// Polls `condition` on the backend's clock; false when it never held.
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<300 {
            if try await condition() { return true }
            try await sleep()
        }
        return false
    }

    /// Applies every node's config over the maintenance API and waits for all to run.
    func configureAll() async throws {
        for machine in all { try await api.applyConfiguration(config(machine), to: machine, insecure: true) }
        let ready = try await eventually {
            for machine in all where try await api.status(of: machine).stage != .running { return false }
            return true
        }
        #expect(ready, "not every node came up configured")
    }

    /// Configures everything, bootstraps cp-1 and waits for three voting members.
    func formCluster() async throws -> [EtcdMember] {
        try await configureAll()
        #expect(try await api.bootstrap(controlPlanes[0]) == .bootstrapped)
        var members: [EtcdMember] = []
        let formed = try await eventually {
            members = try await api.etcdMembers(via: controlPlanes[0])
            return members.count == controlPlanes.count && !members.contains(where: \.isLearner)
        }
        #expect(formed, "members: \(members)")
        return members
    }
}

extension TalosBackend {
    /// Runs `body` against a fresh cluster on this backend.
    func run(_ body: @escaping @Sendable (TalosContractCluster) async throws -> Void) async throws {
        switch self {
        case .wire:
            try await TalosPeerFixture.with(
                maintenance: true, timings: .init(joinDelay: .milliseconds(50), learnerPromotion: .milliseconds(150), reboot: .milliseconds(200))
            ) { fixture in
                try await body(TalosContractCluster(
                    api: fixture.client, controlPlanes: fixture.controlPlanes, worker: fixture.workers[0], config: { fixture.config(for: $0) },
                    sleep: { try await Task.sleep(for: .milliseconds(25)) }))
            }
        case .simulator:
            let secrets = try #require(TalosPeerFixture.sharedSecrets)
            let world = SimulatedWorld(state: SimulatorState(seed: 11))
            try await Task.detached {
                try SimulationRunLoop(clock: world.clock).run {
                    let lab = SimulatedProvisioner(name: "lab", type: "simulator", world: world)
                    let image = try await lab.ensureImage(ImageRequest(name: "lab", talosVersion: "v1.13.9", schematicID: "s", architecture: "amd64", platform: "nocloud"))
                    var machines: [ObservedMachine] = []
                    for (name, role) in [("cp-1", NodeRole.controlPlane), ("cp-2", .controlPlane), ("cp-3", .controlPlane), ("worker-1", .worker)] {
                        let created = try await lab.createMachine(MachineRequest(
                            identity: NodeIdentity(cluster: "home", pool: role.rawValue, role: role, node: name), size: MachineSize(), image: image))
                        machines.append(try await lab.waitUntilRunning(created))
                    }
                    let cluster = TalosContractCluster(
                        api: SimulatedTalosAPI(world: world, secrets: secrets), controlPlanes: Array(machines.prefix(3)), worker: machines[3],
                        config: { TalosPeerFixture.machineConfig(role: $0.identity.role, cluster: "home", secrets: secrets) },
                        sleep: { try await world.clock.sleep(for: .seconds(2)) })
                    try await body(cluster)
                }
            }.value
        }
    }
}

/// One contract for every ``TalosAPI``: the same test bodies against the simulator and against the
/// real client talking to the loopback peer, so the simulator cannot drift from Talos' behaviour.
@Suite("TalosAPI contract")
struct TalosAPIContractTests {
    @Test("a node in maintenance mode takes its first config only insecurely, then only with mutual TLS", arguments: TalosBackend.allCases)
    func maintenance(backend: TalosBackend) async throws {
        try await backend.run { cluster in
            let cp = cluster.controlPlanes[0]
            #expect(try await cluster.api.status(of: cp).stage == .maintenance)
            let maintenanceVersion = try await cluster.api.version(of: cp, insecure: true)
            #expect(!maintenanceVersion.hasConfig)
            await #expect { try await cluster.api.applyConfiguration(cluster.config(cp), to: cp, insecure: false) } throws: {
                ($0 as? ProvisionerError)?.code == .refused
            }
            let dryRun = try await cluster.api.applyConfiguration(cluster.config(cp), to: cp, mode: .auto, dryRun: true, insecure: true)
            #expect(dryRun.mode == .noReboot)
            #expect(try await cluster.api.status(of: cp).stage == .maintenance, "a dry run changed the node")
            let applied = try await cluster.api.applyConfiguration(cluster.config(cp), to: cp, mode: .auto, dryRun: false, insecure: true)
            #expect(applied.mode == .noReboot)
            #expect(try await cluster.eventually { try await cluster.api.status(of: cp).stage == .running })
            #expect(try await cluster.api.version(of: cp, insecure: false).hasConfig)
            await #expect { try await cluster.api.applyConfiguration(cluster.config(cp), to: cp, insecure: true) } throws: {
                ($0 as? ProvisionerError)?.code == .refused
            }
        }
    }

    @Test("etcd is bootstrapped once; a second bootstrap reports alreadyBootstrapped; workers refuse", arguments: TalosBackend.allCases)
    func bootstrapOnce(backend: TalosBackend) async throws {
        try await backend.run { cluster in
            try await cluster.configureAll()
            #expect(try await cluster.api.etcdMembers(via: cluster.controlPlanes[0]).isEmpty)
            await #expect { _ = try await cluster.api.bootstrap(cluster.worker) } throws: { ($0 as? ProvisionerError)?.code == .refused }
            #expect(try await cluster.api.bootstrap(cluster.controlPlanes[0]) == .bootstrapped)
            #expect(try await cluster.api.bootstrap(cluster.controlPlanes[0]) == .alreadyBootstrapped)
            var members: [EtcdMember] = []
            #expect(try await cluster.eventually {
                members = try await cluster.api.etcdMembers(via: cluster.controlPlanes[1])
                return members.count == 3 && !members.contains(where: \.isLearner)
            })
            #expect(Set(members.map(\.hostname)) == ["cp-1", "cp-2", "cp-3"])
            #expect(Set(members.map(\.id)).count == 3)
            // A control plane that joined has etcd data: it refuses too.
            #expect(try await cluster.api.bootstrap(cluster.controlPlanes[2]) == .alreadyBootstrapped)
            let services = try await cluster.api.services(of: cluster.controlPlanes[1])
            #expect(services.first { $0.id == "etcd" }?.isUp == true)
            #expect(try await cluster.api.services(of: cluster.worker).contains { $0.id == "etcd" } == false)
        }
    }

    @Test("members are removed by hostname or ID; the last member never", arguments: TalosBackend.allCases)
    func removal(backend: TalosBackend) async throws {
        try await backend.run { cluster in
            _ = try await cluster.formCluster()
            let cp1 = cluster.controlPlanes[0]
            await #expect { try await cluster.api.removeEtcdMember(named: "cp-9", via: cp1) } throws: { ($0 as? ProvisionerError)?.code == .notFound }
            let members = try await cluster.api.etcdMembers(via: cp1)
            let unknown = (members.map(\.id).max() ?? 0) &+ 1
            await #expect { try await cluster.api.removeEtcdMember(id: unknown, via: cp1) } throws: { "\($0)".contains("member not found") }
            try await cluster.api.removeEtcdMember(id: try #require(members.first { $0.hostname == "cp-3" }).id, via: cp1)
            try await cluster.api.leaveEtcd(cluster.controlPlanes[1])
            #expect(try await cluster.api.etcdMembers(via: cp1).map(\.hostname) == ["cp-1"])
            await #expect { try await cluster.api.removeEtcdMember(named: "cp-1", via: cp1) } throws: {
                let error = $0 as? ProvisionerError
                return error?.code == .refused && error?.isTransient == false && error?.message.contains("not enough started members") == true
            }
        }
    }

    @Test("a snapshot lands atomically with etcd's size rule", arguments: TalosBackend.allCases)
    func snapshot(backend: TalosBackend) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("contract-snap-\(backend.rawValue)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("etcd.db").path
        try await backend.run { cluster in
            try await cluster.configureAll()
            #expect(try await cluster.api.bootstrap(cluster.controlPlanes[0]) == .bootstrapped)
            let info = try await cluster.api.etcdSnapshot(via: cluster.controlPlanes[0], to: path)
            #expect(info.size % 512 == 32)
            #expect(FileManager.default.contents(atPath: path)?.count == info.size)
            #expect(!FileManager.default.fileExists(atPath: path + ".part"))
            let kubeconfig = try await cluster.api.kubeconfig(via: cluster.controlPlanes[0])
            #expect(kubeconfig.contains("admin@home"))
        }
    }
}
