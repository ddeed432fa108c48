import ClusterKit
import ClusterTestSupport
import Provisioners
import Testing

/// Power cuts in the simulated world as the rest of a cluster sees them: Talos goes dark at once,
/// Kubernetes marks the Node NotReady only after the node-monitor grace period, etcd loses the
/// member's vote, and power brings the machine back as itself after its provider's boot time.
@Suite("Simulated power")
struct SimulatedPowerTests {
    static func converged() throws -> SimulatedRun {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        run.expectConverged(try run.up())
        return run
    }

    /// Runs `body` on the virtual clock against a converged cluster, with the named provider's power.
    static func withCluster(
        _ provider: String, faults: [SimulatedFault] = [],
        _ body: @escaping @Sendable (SimulatedWorld, ClusterBackend, any PowerControlling) async throws -> Void
    ) throws {
        let run = try converged()
        let power = try #require(run.backend.provisioners[provider] as? any PowerControlling)
        for fault in faults { run.world.inject(fault) }
        let world = run.world
        let backend = run.backend
        try SimulationRunLoop(clock: world.clock).run { try await body(world, backend, power) }
    }

    @Test("a worker powered off: Talos unreachable at once, NotReady 40-55 s later (grace 50 s), Ready again after power on")
    func workerPowerCycle() throws {
        try Self.withCluster("workstation") { world, backend, power in
            let kubernetes = backend.kubernetes
            let talos = backend.talos
            func ready(_ node: String) async throws -> KubernetesNodeStatus? { try await kubernetes.nodes().first { $0.name == node } }
            let machine = try #require(try await power.listMachines(cluster: "home").first { $0.identity.node == "home-workers-1" })
            #expect(try await ready("home-workers-1")?.ready == true)
            #expect(try await talos.status(of: machine).stage == .running)

            try await power.powerOff(machine)
            let cut = world.clock.now
            #expect(world.hasPower(node: "home-workers-1") == false)
            #expect(try await talos.status(of: machine).stage == .unreachable)
            // The API still shows what the kubelet last posted.
            #expect(try await ready("home-workers-1")?.ready == true)

            var notReadyAfter: Duration?
            while notReadyAfter == nil, world.clock.now - cut < .seconds(120) {
                try await world.clock.sleep(for: .seconds(1))
                if let node = try await ready("home-workers-1"), !node.ready {
                    notReadyAfter = world.clock.now - cut
                    #expect(node.readyReason?.contains("NodeStatusUnknown") == true, "\(String(describing: node.readyReason))")
                }
            }
            let after = try #require(notReadyAfter)
            // Last Lease renewal 0-10 s before the cut, grace 50 s, checked every 5 s (FAILOVER-FACTS.md section 3).
            #expect(after >= .seconds(40) && after <= .seconds(57), "NotReady after \(after)")
            // Nobody else noticed.
            #expect(try await kubernetes.nodes().filter { $0.name != "home-workers-1" }.allSatisfy(\.ready))

            try await power.powerOn(machine)
            let on = world.clock.now
            #expect(world.hasPower(node: "home-workers-1") == true)
            var answeredAfter: Duration?
            while answeredAfter == nil, world.clock.now - on < .seconds(120) {
                try await world.clock.sleep(for: .seconds(1))
                if (try? await talos.status(of: machine).stage) == .running { answeredAfter = world.clock.now - on }
            }
            // libvirt's boot time, 15 s with the simulator's 15% jitter either way.
            let booted = try #require(answeredAfter)
            #expect(booted >= .seconds(12) && booted <= .seconds(19), "Talos answered after \(booted)")
            #expect(try await ready("home-workers-1")?.ready == true)
            let listed = try await power.listMachines(cluster: "home").first { $0.identity.node == "home-workers-1" }
            #expect(listed?.phase == .running)
            #expect(listed?.providerID == machine.providerID)
        }
    }

    @Test("a reset or an outage shorter than the grace period never shows NotReady, though Talos is dark while it boots")
    func shortOutages() throws {
        try Self.withCluster("workstation") { world, backend, power in
            let kubernetes = backend.kubernetes
            let talos = backend.talos
            let machine = try #require(try await power.listMachines(cluster: "home").first { $0.identity.node == "home-workers-2" })
            func ready() async throws -> Bool { try await kubernetes.nodes().first { $0.name == "home-workers-2" }?.ready == true }

            try await power.reset(machine)
            #expect(try await talos.status(of: machine).stage == .unreachable)
            var sawNotReady = false
            var answered = false
            for _ in 0..<30 where !answered {
                try await world.clock.sleep(for: .seconds(1))
                if try await !ready() { sawNotReady = true }
                answered = try await talos.status(of: machine).stage == .running
            }
            #expect(answered && !sawNotReady, "answered \(answered), NotReady seen \(sawNotReady)")

            try await power.powerOff(machine)
            try await world.clock.sleep(for: .seconds(20))
            #expect(try await ready())
            try await power.powerOn(machine)
            for _ in 0..<30 {
                try await world.clock.sleep(for: .seconds(1))
                if try await !ready() { sawNotReady = true }
            }
            #expect(!sawNotReady, "a 20 s outage plus a 15 s boot stays under the 40 s floor")
            #expect(try await talos.status(of: machine).stage == .running)
        }
    }

    @Test("one control plane off keeps quorum; two off take the Kubernetes API down until power returns")
    func controlPlanesAndQuorum() throws {
        try Self.withCluster("hcloud") { world, backend, power in
            let kubernetes = backend.kubernetes
            let cloud = try await power.listMachines(cluster: "home").filter { $0.identity.role == .controlPlane }
            #expect(cloud.count == 2)
            try await power.powerOff(cloud[0])
            #expect(try await kubernetes.isAPIServerUp())
            #expect(try await power.listMachines(cluster: "home").first { $0.providerID == cloud[0].providerID }?.phase == .stopped)
            try await power.powerOff(cloud[1])
            #expect(try await !kubernetes.isAPIServerUp())

            for machine in cloud { try await power.powerOn(machine) }
            var back = false
            for _ in 0..<120 where !back {
                try await world.clock.sleep(for: .seconds(1))
                back = try await kubernetes.isAPIServerUp()
            }
            #expect(back, "the API did not come back after power returned")
            #expect(try await kubernetes.nodes().count == 6)
        }
    }

    @Test("a reset needs power; a failed host has no power to switch")
    func refusals() throws {
        try Self.withCluster("lab") { world, backend, power in
            let machine = try #require(try await power.listMachines(cluster: "home").first)
            try await power.powerOff(machine)
            let refused = await #expect(throws: ClusterError.self) { try await power.reset(machine) }
            #expect(refused?.code == .refused)
            #expect(refused?.hint?.contains("power it on") == true)
            try await power.powerOn(machine)
            try await power.reset(machine)
            #expect(try await power.powerState(of: machine) == .on)

            world.failMachine(node: machine.identity.node)
            #expect(try await power.powerState(of: machine) == .unknown)
            let dead = await #expect(throws: ProvisionerError.self) { try await power.powerOn(machine) }
            #expect(dead?.code == .unavailable)
        }
    }

    @Test("power faults are injected like any other: a 5xx on a power call, then it works")
    func powerFaults() throws {
        try Self.withCluster("lab", faults: [try SimulatedFault(parsing: "5xx:power:home-edge-1")]) { world, backend, power in
            let machine = try #require(try await power.listMachines(cluster: "home").first { $0.identity.node == "home-edge-1" })
            let failed = await #expect(throws: ProvisionerError.self) { try await power.powerOff(machine) }
            #expect(failed?.isTransient == true)
            #expect(world.hasPower(node: "home-edge-1") == true)
            try await power.powerOff(machine)
            #expect(world.hasPower(node: "home-edge-1") == false)
        }
    }
}
