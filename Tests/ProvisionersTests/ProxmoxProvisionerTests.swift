import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The Proxmox provider over real libcurl against a loopback model of the Proxmox VE API.
@Suite(.serialized)
struct ProxmoxProvisionerTests {
    static let token = "root@pam!cc=0b7f3c1e-secret"

    /// The model and the client share one fast clock: task durations pass as the client polls.
    func makeModel() throws -> (ProxmoxModel, HTTPFastTimeSource) {
        let time = HTTPFastTimeSource()
        return (try ProxmoxModel(token: Self.token, templateVMID: 9000, time: time), time)
    }

    func makeProvisioner(
        model: ProxmoxModel, time: HTTPFastTimeSource, variable: String, token: String = token, url: String? = nil,
        tls: TLSTrust = .system, retry: HTTPRetryPolicy = .none
    ) throws -> ProxmoxProvisioner {
        setenv(variable, token, 1)
        let settings = ProxmoxSettings(
            url: (url ?? model.baseURL) + "/", token: .environment(variable), node: "pve", templateVMID: 9000, storage: "local-lvm",
            linkedClone: true, bridge: "vmbr0", tls: tls)
        let http = HTTPClient(
            transport: CurlHTTPTransport(configuration: HTTPClientConfiguration(tls: tls, retry: retry)), retry: retry, time: time,
            errorDecoder: ProxmoxProvisioner.decodeError)
        return try ProxmoxProvisioner(name: "pve", settings: settings, http: http, time: time)
    }

    func request(_ cluster: String, _ pool: String, _ role: NodeRole, _ index: Int, image: ProviderImage) -> MachineRequest {
        MachineRequest(
            identity: NodeIdentity(
                cluster: cluster, pool: pool, role: role, node: NodeIdentity.nodeName(cluster: cluster, pool: pool, index: index)),
            size: MachineSize(cpus: 4, memoryMiB: 8192, diskGiB: 40), image: image)
    }

    @Test func createListDeleteThroughTasks() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        let provisioner = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_A")
        #expect(provisioner.acceptsUserData == false)

        let image = try await provisioner.ensureImage(
            ImageRequest(name: "talos", talosVersion: "v1.11.0", schematicID: "ab", architecture: "amd64", platform: "nocloud"))
        #expect(image.id == "9000")

        var created: [ObservedMachine] = []
        for index in 1...2 {
            let machine = try await provisioner.createMachine(request("home", "cp", .controlPlane, index, image: image))
            created.append(try await provisioner.waitUntilRunning(machine))
        }
        // nextid hands out the lowest free id from 100, as Proxmox does.
        #expect(created.map(\.providerID) == ["100", "101"])
        #expect(created.allSatisfy { $0.phase == .running })
        #expect(created[0].addresses == ["10.0.0.100"])
        #expect(model.machines.map(\.tags) == Array(repeating: "clusterctl;cc-cluster-home;cc-pool-cp;cc-role-controlplane", count: 2))
        #expect(model.machines.allSatisfy { $0.cores == 4 && $0.memoryMiB == 8192 })

        _ = try await provisioner.createMachine(request("home", "workers", .worker, 1, image: image))
        _ = try await provisioner.createMachine(request("other", "cp", .controlPlane, 1, image: image))
        var listed = try await provisioner.listMachines(cluster: "home")
        #expect(listed.map(\.identity.node) == ["home-cp-1", "home-cp-2", "home-workers-1"])
        // The disk is part of the observed size (maxdisk), so a resized VM shows no drift.
        #expect(listed.first?.size == MachineSize(cpus: 4, memoryMiB: 8192, diskGiB: 40))
        // Same node name again: returned, not duplicated.
        let again = try await provisioner.createMachine(request("home", "cp", .controlPlane, 1, image: image))
        #expect(again.providerID == "100")
        #expect(model.machines.count == 4)

        // A running VM is stopped, then deleted; every step waited on as a task.
        try await provisioner.deleteMachine(listed[1])
        listed = try await provisioner.listMachines(cluster: "home")
        #expect(listed.map(\.identity.node) == ["home-cp-1", "home-workers-1"])
        try await provisioner.deleteMachine(created[1])  // already gone: succeeds
        for machine in listed { try await provisioner.deleteMachine(machine) }
        #expect(try await provisioner.listMachines(cluster: "home").isEmpty)
        #expect(model.machines.map(\.name) == ["other-cp-1"])
        #expect(model.log.contains { $0.hasPrefix("GET /api2/json/nodes/pve/tasks/UPID:pve:") })
    }

    @Test func failedTaskSurfacesItsExitStatus() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        let provisioner = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_B")
        let image = ProviderImage(id: "9000", description: "t")
        let failed = await #expect(throws: ClusterError.self) {
            _ = try await provisioner.createMachine(self.request("home", "full", .worker, 1, image: image))
        }
        #expect(failed?.message.contains("clone failed: storage full") == true)
        #expect(model.machines.isEmpty, "the failed clone's worker removes what it made")
    }

    @Test func badTokenAndMissingTemplateAreClear() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        let wrong = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_C", token: "root@pam!cc=wrong")
        let denied = await #expect(throws: ClusterError.self) { _ = try await wrong.listMachines(cluster: "home") }
        #expect(denied?.message.contains("401") == true)
        #expect(denied?.message.contains("wrong") == false)

        setenv("CLUSTERCTL_TEST_PVE_TOKEN_D", Self.token, 1)
        let settings = ProxmoxSettings(
            url: model.baseURL, token: .environment("CLUSTERCTL_TEST_PVE_TOKEN_D"), node: "pve", templateVMID: 123,
            storage: "local-lvm", linkedClone: false, bridge: "vmbr0", tls: .system)
        let noTemplate = try ProxmoxProvisioner(
            name: "pve", settings: settings,
            http: HTTPClient(transport: CurlHTTPTransport(), retry: .none, errorDecoder: ProxmoxProvisioner.decodeError))
        let missing = await #expect(throws: ClusterError.self) {
            _ = try await noTemplate.ensureImage(
                ImageRequest(name: "t", talosVersion: "v1", schematicID: "a", architecture: "amd64", platform: "nocloud"))
        }
        #expect(missing?.code == .notFound)

        let unset = #expect(throws: ClusterError.self) {
            _ = try ProxmoxProvisioner(
                name: "pve",
                settings: ProxmoxSettings(
                    url: model.baseURL, token: .environment("CLUSTERCTL_TEST_PVE_UNSET"), node: "pve", templateVMID: 1,
                    storage: "s", linkedClone: true, bridge: "b", tls: .system))
        }
        #expect(unset?.code == .secrets)
    }

    @Test func parallelCreatesOfOneProviderNeverCollide() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        let provisioner = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_E")
        let image = ProviderImage(id: "9000", description: "t")
        // Every create asks nextid at the same moment and, Proxmox reserving nothing, hears the same id.
        let created = try await withThrowingTaskGroup(of: ObservedMachine.self) { group in
            for index in 1...5 {
                group.addTask { try await provisioner.createMachine(self.request("lab", "cp", .controlPlane, index, image: image)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(created.map(\.providerID)).count == 5)
        #expect(model.machines.compactMap(\.name).sorted() == (1...5).map { "lab-cp-\($0)" })
        #expect(model.machines.allSatisfy { $0.lock == nil && $0.tags.hasPrefix("clusterctl;") && $0.diskGiB == 40 })
        // Each clone went to an id nobody had: no refusal was ever needed.
        #expect(model.log.filter { $0.hasPrefix("POST") && $0.hasSuffix("/clone") }.count == 5)
    }

    @Test func twoClientsRacingForOneIdRetryWithTheNextFreeOne() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        // Two processes (two allocators) sharing one Proxmox: their clones do collide, and the
        // loser moves on to the next free id instead of failing the node.
        let first = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_F")
        let second = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_F")
        let image = ProviderImage(id: "9000", description: "t")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1...3 {
                group.addTask { _ = try await first.createMachine(self.request("lab", "a", .worker, index, image: image)) }
                group.addTask { _ = try await second.createMachine(self.request("lab", "b", .worker, index, image: image)) }
            }
            try await group.waitForAll()
        }
        let names = model.machines.compactMap(\.name)
        #expect(names.count == 6 && Set(names).count == 6, "\(names)")
        #expect(Set(model.machines.map(\.vmid)).count == 6)
    }

    @Test func aCloneWhoseAnswerWasLostIsFoundNotClonedAgain() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        let image = ProviderImage(id: "9000", description: "t")
        // The client's own retry resends the POST: Proxmox refuses (the id is taken by that very
        // clone), and the provisioner recognises its clone by name and description.
        let retrying = try makeProvisioner(
            model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_G", retry: HTTPRetryPolicy(maxAttempts: 4))
        model.inject(.commitThenStatus(500), count: 1, method: "POST", path: "/clone")
        model.inject(.status(503), count: 2, method: "GET", path: "/cluster/nextid")
        _ = try await retrying.createMachine(request("lab", "cp", .controlPlane, 1, image: image))
        #expect(model.pendingFaults == 0)
        #expect(model.machines.map(\.name) == ["lab-cp-1"])
        #expect(model.log.contains { $0.hasPrefix("GET /api2/json/nodes/pve/qemu/100/config") })

        // No retry in the client: the create fails, and the next try (the executor's) adopts the
        // clone, still untagged, instead of making a second VM.
        let once = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_G")
        model.inject(.commitThenStatus(502), count: 1, method: "POST", path: "/clone")
        await #expect(throws: (any Error).self) { _ = try await once.createMachine(self.request("lab", "cp", .controlPlane, 2, image: image)) }
        #expect(model.machines.count == 2, "the clone was made although the answer said otherwise")
        _ = try await once.createMachine(request("lab", "cp", .controlPlane, 2, image: image))
        #expect(model.machines.map(\.name) == ["lab-cp-1", "lab-cp-2"])
        #expect(model.machines.allSatisfy { $0.tags.contains("cc-cluster-lab") && $0.status == "running" })

        // A new process (fresh allocator) finds an untagged clone of a crashed run by its name and description.
        let fresh = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_G")
        model.inject(.commitThenStatus(502), count: 1, method: "POST", path: "/clone")
        await #expect(throws: (any Error).self) { _ = try await fresh.createMachine(self.request("lab", "cp", .controlPlane, 3, image: image)) }
        let restarted = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_G")
        // Still being cloned: no name yet, only the lock. The new process waits for it, then knows it.
        #expect(model.machines.contains { $0.name == nil && $0.lock == "clone" })
        _ = try await restarted.createMachine(request("lab", "cp", .controlPlane, 3, image: image))
        #expect(model.machines.map(\.name) == ["lab-cp-1", "lab-cp-2", "lab-cp-3"])
        // A VM of someone else with the same name but no clusterctl description is left alone.
        model.addVM(vmid: 500, name: "lab-cp-4")
        _ = try await restarted.createMachine(request("lab", "cp", .controlPlane, 4, image: image))
        #expect(model.machines.filter { $0.name == "lab-cp-4" }.count == 2)
    }

    @Test func theResizeTaskIsWaitedOnBeforeStart() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        let provisioner = try makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_H")
        _ = try await provisioner.createMachine(request("lab", "cp", .controlPlane, 1, image: ProviderImage(id: "9000", description: "t")))
        let log = model.log
        let resizePoll = try #require(log.firstIndex { $0.contains("/tasks/UPID:pve:") && $0.contains(":resize:") })
        let start = try #require(log.firstIndex { $0.hasSuffix("/status/start") })
        #expect(resizePoll < start)
        #expect(model.machines.first?.diskGiB == 40)
        #expect(try await provisioner.listMachines(cluster: "lab").first?.size.diskGiB == 40)
    }

    @Test func aPinAloneTrustsTheSelfSignedCertificateAndAWrongPinSendsNothing() async throws {
        let (model, time) = try makeModel()
        defer { model.stop() }
        let identity = try TLSLoopbackFront.Identity.selfSigned()
        let front = try TLSLoopbackFront(backendPort: model.port, identity: identity)
        defer { front.stop() }
        let pinned = try makeProvisioner(
            model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_I", url: front.baseURL,
            tls: .pinnedPublicKey(try identity.publicKeyPin()))
        let image = try await pinned.ensureImage(
            ImageRequest(name: "talos", talosVersion: "v1.11.0", schematicID: "ab", architecture: "amd64", platform: "nocloud"))
        #expect(image.id == "9000")
        let seen = model.log.count
        #expect(seen > 0)

        let other = try TLSLoopbackFront.Identity.selfSigned()
        let wrong = try makeProvisioner(
            model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_I", url: front.baseURL,
            tls: .pinnedPublicKey(try other.publicKeyPin()))
        let refused = await #expect(throws: (any Error).self) { _ = try await wrong.listMachines(cluster: "lab") }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("pinned"), "\(String(describing: refused))")
        #expect(model.log.count == seen, "a wrong pin is refused in the handshake, before any request")
    }

    @Test func nodeNamesStayOnePathSegment() {
        #expect(ProxmoxProvisioner.segment("pve-1") == "pve-1")
        #expect(ProxmoxProvisioner.segment("../../access/users?x#y") == "..%2F..%2Faccess%2Fusers%3Fx%23y")
        #expect(ProxmoxProvisioner.segment("a b;c") == "a%20b%3Bc")
    }

    @Test func idsAndTagsParse() {
        #expect(ProxmoxTags.identity(tags: "clusterctl;cc-cluster-home;cc-pool-cp;cc-role-worker", name: "home-cp-1")
            == NodeIdentity(cluster: "home", pool: "cp", role: .worker, node: "home-cp-1"))
        #expect(ProxmoxTags.identity(tags: "cc-cluster-home;cc-pool-cp;cc-role-worker", name: "x") == nil)
    }
}
