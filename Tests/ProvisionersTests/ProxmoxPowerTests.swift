import ClusterKit
import ClusterTestSupport
import Foundation
@testable import Provisioners
import Testing

/// Power against the Proxmox model: status/current, and stop/start/reset tasks with Proxmox's
/// own refusals, over real libcurl.
@Suite("Proxmox power against the loopback API model", .serialized)
struct ProxmoxPowerTests {
    let base = ProxmoxProvisionerTests()

    func running() async throws -> (ProxmoxModel, HTTPFastTimeSource, ProxmoxProvisioner, ObservedMachine) {
        let (model, time) = try base.makeModel()
        let provisioner = try base.makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_PW")
        let created = try await provisioner.createMachine(
            base.request("lab", "cp", .controlPlane, 1, image: ProviderImage(id: "9000", description: "t")))
        return (model, time, provisioner, try await provisioner.waitUntilRunning(created))
    }

    @Test("off is one stop task waited on; on again sends no start; a reset of a stopped VM sends nothing")
    func exactRequests() async throws {
        let (model, _, provisioner, machine) = try await running()
        defer { model.stop() }
        let vm = "/api2/json/nodes/pve/qemu/\(machine.providerID)"
        var start = model.log.count
        try await provisioner.powerOff(machine)
        var sent = Array(model.log.dropFirst(start))
        #expect(sent.first == "GET \(vm)/status/current")
        #expect(sent.filter { $0 == "POST \(vm)/status/stop" }.count == 1)
        let stop = try #require(sent.firstIndex(of: "POST \(vm)/status/stop"))
        #expect(sent[(stop + 1)...].contains { $0.contains("/tasks/UPID:pve:") && $0.contains(":qmstop:") })
        #expect(sent.last == "GET \(vm)/status/current")
        #expect(model.machines.first?.status == "stopped")

        start = model.log.count
        let refused = await #expect(throws: ClusterError.self) { try await provisioner.reset(machine) }
        #expect(refused?.code == .refused)
        #expect(!model.log.dropFirst(start).contains { $0.hasPrefix("POST") })

        try await provisioner.powerOn(machine)
        start = model.log.count
        try await provisioner.powerOn(machine)
        sent = Array(model.log.dropFirst(start))
        #expect(sent == ["GET \(vm)/status/current"])

        start = model.log.count
        try await provisioner.reset(machine)
        #expect(model.log.dropFirst(start).contains { $0.contains(":qmreset:") })
        #expect(model.machines.first?.status == "running")
    }

    @Test("the model refuses as Proxmox does: start of a running VM fails in its task, reset of a stopped VM at once")
    func modelRefusals() async throws {
        let (model, _, provisioner, machine) = try await running()
        defer { model.stop() }
        let vm = "/nodes/pve/qemu/\(machine.providerID)"
        // Sent straight through the provisioner's transport, bypassing its state check.
        let failedStart = await #expect(throws: ClusterError.self) {
            try await provisioner.waitForTask(try await provisioner.call(.post, "\(vm)/status/start"))
        }
        #expect(failedStart?.message.contains("VM \(machine.providerID) already running") == true, "\(String(describing: failedStart))")

        try await provisioner.waitForTask(try await provisioner.call(.post, "\(vm)/status/stop"))
        // Stopping a stopped VM is fine.
        try await provisioner.waitForTask(try await provisioner.call(.post, "\(vm)/status/stop"))
        let failedReset = await #expect(throws: (any Error).self) { _ = try await provisioner.call(.post, "\(vm)/status/reset") }
        #expect("\(failedReset.map { "\($0)" } ?? "")".contains("VM \(machine.providerID) not running"), "\(String(describing: failedReset))")
        #expect(!model.log.contains { $0.contains(":qmreset:") })

        let current = try #require(try await provisioner.call(.get, "\(vm)/status/current") as? [String: Any])
        #expect(current["status"] as? String == "stopped")
        #expect(current["name"] as? String == "lab-cp-1")
        #expect(try await provisioner.listMachines(cluster: "lab").first?.phase == .stopped)
    }

    @Test("a start whose answer is lost counts once the VM reads running")
    func lostAnswer() async throws {
        // Tasks end at once, so the start that went through shows on the next read.
        let time = HTTPFastTimeSource()
        let model = try ProxmoxModel(token: ProxmoxProvisionerTests.token, templateVMID: 9000, time: time, taskDuration: .zero)
        defer { model.stop() }
        let provisioner = try base.makeProvisioner(model: model, time: time, variable: "CLUSTERCTL_TEST_PVE_TOKEN_PW")
        let machine = try await provisioner.waitUntilRunning(
            try await provisioner.createMachine(base.request("lab", "cp", .controlPlane, 1, image: ProviderImage(id: "9000", description: "t"))))
        try await provisioner.powerOff(machine)
        model.inject(.commitThenStatus(500), method: "POST", path: "/status/start")
        try await provisioner.powerOn(machine)
        #expect(model.pendingFaults == 0)
        #expect(try await provisioner.powerState(of: machine) == .on)
        #expect(model.log.filter { $0.hasSuffix("/status/start") }.count == 2, "one start at create, one for power on")
    }

    @Test("every power request names a path, method and parameters of apidata.json", .requiresReference("proxmox/apidata.json"))
    func apiDescription() async throws {
        let (model, _, provisioner, machine) = try await running()
        defer { model.stop() }
        try await provisioner.powerOff(machine)
        try await provisioner.powerOn(machine)
        try await provisioner.reset(machine)
        let apidata = try JSONSerialization.jsonObject(
            with: Data(contentsOf: try ReferenceData.require("proxmox/apidata.json"))) as? [[String: Any]] ?? []
        var paths: [String: Set<String>] = [:]
        func walk(_ nodes: [[String: Any]]) {
            for node in nodes {
                if let path = node["path"] as? String { paths[path] = Set((node["info"] as? [String: Any] ?? [:]).keys) }
                walk(node["children"] as? [[String: Any]] ?? [])
            }
        }
        walk(apidata)
        for line in model.log where line.contains("/status/") || line.contains("/tasks/") {
            let parts = line.split(separator: " ", maxSplits: 1)
            let path = String(parts[1].split(separator: "?")[0]).replacingOccurrences(of: "/api2/json", with: "")
            let pattern = path.split(separator: "/").enumerated().map { index, segment -> String in
                switch (index, segment) {
                case (1, _): "{node}"
                case (3, _) where path.contains("/qemu/"): "{vmid}"
                case (3, _) where path.contains("/tasks/"): "{upid}"
                default: String(segment)
                }
            }.joined(separator: "/")
            #expect(paths["/" + pattern]?.contains(String(parts[0])) == true, "\(line) -> /\(pattern)")
        }
    }
}
