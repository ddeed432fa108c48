import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The Proxmox provider over real libcurl against a loopback model of the Proxmox VE API.
@Suite(.serialized)
struct ProxmoxProvisionerTests {
    static let token = "root@pam!cc=0b7f3c1e-secret"

    func makeProvisioner(model: ProxmoxModel, variable: String, token: String = token) throws -> ProxmoxProvisioner {
        setenv(variable, token, 1)
        let time = HTTPFastTimeSource()
        let settings = ProxmoxSettings(
            url: model.baseURL + "/", token: .environment(variable), node: "pve", templateVMID: 9000, storage: "local-lvm",
            linkedClone: true, bridge: "vmbr0", tls: .system)
        let http = HTTPClient(
            transport: CurlHTTPTransport(configuration: HTTPClientConfiguration(retry: .none)), retry: .none, time: time,
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
        let model = try ProxmoxModel(token: Self.token, templateVMID: 9000)
        defer { model.stop() }
        let provisioner = try makeProvisioner(model: model, variable: "CLUSTERCTL_TEST_PVE_TOKEN_A")
        #expect(provisioner.acceptsUserData == false)

        let image = try await provisioner.ensureImage(
            ImageRequest(name: "talos", talosVersion: "v1.11.0", schematicID: "ab", architecture: "amd64", platform: "nocloud"))
        #expect(image.id == "9000")

        var created: [ObservedMachine] = []
        for index in 1...2 {
            let machine = try await provisioner.createMachine(request("home", "cp", .controlPlane, index, image: image))
            created.append(try await provisioner.waitUntilRunning(machine))
        }
        #expect(created.map(\.providerID) == ["9001", "9002"])
        #expect(created.allSatisfy { $0.phase == .running })
        #expect(created[0].addresses == ["10.0.0.\(9001 % 250)"])
        #expect(model.machines.map(\.tags) == Array(repeating: "clusterctl;cc-cluster-home;cc-pool-cp;cc-role-controlplane", count: 2))
        #expect(model.machines.allSatisfy { $0.cores == 4 && $0.memoryMiB == 8192 })

        _ = try await provisioner.createMachine(request("home", "workers", .worker, 1, image: image))
        _ = try await provisioner.createMachine(request("other", "cp", .controlPlane, 1, image: image))
        var listed = try await provisioner.listMachines(cluster: "home")
        #expect(listed.map(\.identity.node) == ["home-cp-1", "home-cp-2", "home-workers-1"])
        #expect(listed.first?.size == MachineSize(cpus: 4, memoryMiB: 8192))
        // Same node name again: returned, not duplicated.
        let again = try await provisioner.createMachine(request("home", "cp", .controlPlane, 1, image: image))
        #expect(again.providerID == "9001")
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
        let model = try ProxmoxModel(token: Self.token, templateVMID: 9000)
        defer { model.stop() }
        let provisioner = try makeProvisioner(model: model, variable: "CLUSTERCTL_TEST_PVE_TOKEN_B")
        let image = ProviderImage(id: "9000", description: "t")
        let failed = await #expect(throws: ClusterError.self) {
            _ = try await provisioner.createMachine(self.request("home", "full", .worker, 1, image: image))
        }
        #expect(failed?.message.contains("clone failed: storage full") == true)
    }

    @Test func badTokenAndMissingTemplateAreClear() async throws {
        let model = try ProxmoxModel(token: Self.token, templateVMID: 9000)
        defer { model.stop() }
        let wrong = try makeProvisioner(model: model, variable: "CLUSTERCTL_TEST_PVE_TOKEN_C", token: "root@pam!cc=wrong")
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
