import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The backends the ``PowerControlling`` contract runs against: the Hetzner and Proxmox API
/// models over real libcurl, the real libvirtd over a real sshd, and the simulator.
enum PowerBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case hetzner, proxmox, libvirt, simulator

    var testDescription: String { rawValue }

    /// Whether the backend can run here; libvirt needs the local libvirtd, and CI must have it.
    var isAvailable: Bool { self != .libvirt || LibvirtTestHost.shouldRun }
}

/// One running machine on a backend, the provider that holds it, and a view of its power taken
/// outside the code under test (the model's own record, `virsh domstate` on the host, the
/// simulated world's state).
struct PowerContractMachine: Sendable {
    let provisioner: any PowerControlling
    let machine: ObservedMachine
    /// True when the backend itself holds the machine powered on.
    let backendSaysOn: @Sendable () throws -> Bool
    /// Sleeps a little on the backend's clock (virtual for the simulator).
    let sleep: @Sendable () async throws -> Void
    /// Sends the request that created ``machine`` once more (an interrupted run asking again).
    let createAgain: @Sendable () async throws -> ObservedMachine

    /// The machine as its provider lists it now.
    func listed() async throws -> ObservedMachine? {
        try await provisioner.listMachines(cluster: machine.identity.cluster).first { $0.providerID == machine.providerID }
    }

    /// Polls `condition` on the backend's clock; false when it never held.
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try await condition() { return true }
            try await sleep()
        }
        return false
    }
}

/// The error's code, whichever module's error type carries it (`refused`, `not-found`, ...).
func errorCode(_ error: any Error) -> String? {
    switch error {
    case let error as ClusterError: error.code.rawValue
    case let error as ProvisionerError: error.code.rawValue
    default: nil
    }
}

extension PowerBackend {
    static let identity = NodeIdentity(cluster: "drill", pool: "cp", role: .controlPlane, node: "drill-cp-1")

    /// Brings one machine up on this backend, runs `body` against it, and cleans up.
    func run(_ body: @escaping @Sendable (PowerContractMachine) async throws -> Void) async throws {
        switch self {
        case .hetzner:
            let environment = try HetznerTestEnvironment()
            defer { environment.server.stop() }
            let model = environment.model
            var request = environment.request(pool: "cp", role: .controlPlane, index: 1)
            request.identity = Self.identity
            let sent = request
            let machine = try await environment.provisioner.waitUntilRunning(try await environment.provisioner.createMachine(sent))
            let id = Int(machine.providerID)
            try await body(PowerContractMachine(
                provisioner: environment.provisioner, machine: machine,
                backendSaysOn: { model.servers.first { $0.id == id }?.status == "running" },
                sleep: { try await environment.clock.sleep(for: .seconds(1)) },
                createAgain: { try await environment.provisioner.createMachine(sent) }))
        case .proxmox:
            let time = HTTPFastTimeSource()
            let model = try ProxmoxModel(token: ProxmoxProvisionerTests.token, templateVMID: 9000, time: time)
            defer { model.stop() }
            let provisioner = try ProxmoxProvisionerTests().makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_POWER")
            let image = ProviderImage(id: "9000", description: "template")
            let request = MachineRequest(identity: Self.identity, size: MachineSize(cpus: 2, memoryMiB: 2048), image: image)
            let machine = try await provisioner.waitUntilRunning(try await provisioner.createMachine(request))
            let vmid = Int(machine.providerID)
            try await body(PowerContractMachine(
                provisioner: provisioner, machine: machine, backendSaysOn: { model.machines.first { $0.vmid == vmid }?.status == "running" },
                sleep: { try await time.sleep(for: .seconds(1)) }, createAgain: { try await provisioner.createMachine(request) }))
        case .libvirt:
            if let reason = LibvirtTestHost.unavailableReason { Issue.record("\(reason)"); return }
            let host = try LibvirtProvisionerTests.Host()
            defer { host.stop() }
            let image = try LibvirtTestHost.makeStandInImage(in: host.server.directory)
            let provisioner = try host.provisioner(network: nil, image: image, addressTimeout: .zero)
            let base = try await provisioner.ensureImage(LibvirtProvisionerTests.imageRequest)
            let request = host.request("cp", 1, image: base, memoryMiB: 64)
            let machine = try await provisioner.waitUntilRunning(try await provisioner.createMachine(request))
            let node = machine.identity.node
            try await body(PowerContractMachine(
                provisioner: provisioner, machine: machine,
                backendSaysOn: { try LibvirtTestHost.virsh("domstate", node).trimmingCharacters(in: .whitespacesAndNewlines) == "running" },
                sleep: { try await Task.sleep(for: .milliseconds(200)) }, createAgain: { try await provisioner.createMachine(request) }))
            try? await provisioner.deleteMachine(machine)
        case .simulator:
            let world = SimulatedWorld(state: SimulatorState(seed: 5))
            try await Task.detached {
                try SimulationRunLoop(clock: world.clock).run {
                    let provisioner = SimulatedProvisioner(name: "hcloud", type: "hetzner", world: world)
                    let image = try await provisioner.ensureImage(
                        ImageRequest(name: "t", talosVersion: "v1.13.9", schematicID: "s", architecture: "amd64", platform: "hcloud"))
                    let request = MachineRequest(identity: Self.identity, size: MachineSize(serverType: "cx22"), image: image)
                    let machine = try await provisioner.waitUntilRunning(try await provisioner.createMachine(request))
                    try await body(PowerContractMachine(
                        provisioner: provisioner, machine: machine, backendSaysOn: { world.hasPower(node: Self.identity.node) == true },
                        sleep: { try await world.clock.sleep(for: .seconds(2)) }, createAgain: { try await provisioner.createMachine(request) }))
                }
            }.value
        }
    }
}

/// One contract for every ``PowerControlling`` backend, so a drill's first step (power a node
/// off) and its way back (power it on) are known to work the same on each.
@Suite("PowerControlling contract", .serialized)
struct PowerControlContractTests {
    @Test("power off, off again, reset refused while off, on, on again, reset", arguments: PowerBackend.allCases.filter(\.isAvailable))
    func powerCycle(_ backend: PowerBackend) async throws {
        try await backend.run { subject in
            let provisioner = subject.provisioner
            let machine = subject.machine
            #expect(try await provisioner.powerState(of: machine) == .on)
            #expect(try subject.backendSaysOn())

            // Off: the backend holds it off, and the provider lists it stopped.
            try await provisioner.powerOff(machine)
            #expect(try await provisioner.powerState(of: machine) == .off)
            #expect(try !subject.backendSaysOn())
            #expect(try await subject.listed()?.phase == .stopped)
            // Off again: nothing to do, no error.
            try await provisioner.powerOff(machine)
            #expect(try await provisioner.powerState(of: machine) == .off)

            // A reset needs power.
            let refused = await #expect(throws: (any Error).self) { try await provisioner.reset(machine) }
            #expect(refused.flatMap(errorCode) == "refused", "\(String(describing: refused))")
            #expect(try !subject.backendSaysOn())

            // On: powered at once; the provider lists it running once it has booted.
            try await provisioner.powerOn(machine)
            #expect(try await provisioner.powerState(of: machine) == .on)
            #expect(try subject.backendSaysOn())
            #expect(try await subject.eventually { try await subject.listed()?.phase == .running })
            try await provisioner.powerOn(machine)
            #expect(try await provisioner.powerState(of: machine) == .on)

            // Reset: still on afterwards.
            try await provisioner.reset(machine)
            #expect(try await provisioner.powerState(of: machine) == .on)
            #expect(try subject.backendSaysOn())

            // The same verbs through the action table the CLI and drills use.
            try await provisioner.apply(.off, to: machine)
            #expect(try await provisioner.powerState(of: machine) == .off)
            try await provisioner.apply(.on, to: machine)
            #expect(try await provisioner.powerState(of: machine) == .on)
        }
    }

    @Test("waiting for a machine to run powers a stopped one on, as `up` needs after a drill", arguments: PowerBackend.allCases.filter(\.isAvailable))
    func waitPowersOn(_ backend: PowerBackend) async throws {
        try await backend.run { subject in
            try await subject.provisioner.powerOff(subject.machine)
            var stopped = subject.machine
            stopped.phase = .stopped
            let running = try await subject.provisioner.waitUntilRunning(stopped)
            #expect(running.phase == .running)
            #expect(try await subject.provisioner.powerState(of: subject.machine) == .on)
            #expect(try subject.backendSaysOn())
        }
    }

    @Test("a machine that is gone has no power state: not found", arguments: PowerBackend.allCases.filter(\.isAvailable))
    func goneMachine(_ backend: PowerBackend) async throws {
        try await backend.run { subject in
            try await subject.provisioner.deleteMachine(subject.machine)
            _ = try await subject.eventually { try await subject.listed() == nil }
            let error = await #expect(throws: (any Error).self) { _ = try await subject.provisioner.powerState(of: subject.machine) }
            #expect(["not-found", "not_found"].contains(error.flatMap(errorCode) ?? ""), "\(String(describing: error))")
        }
    }
}
