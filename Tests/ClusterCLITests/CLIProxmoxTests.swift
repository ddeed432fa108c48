import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// `clusterctl up lab --until machines` against the Proxmox VE model over HTTPS, as a new user
/// meets a fresh Proxmox: a self-signed certificate (OpenSSL through socat), trusted through its
/// certificate as CA file or through its key's pin alone; `/cluster/nextid` reserving nothing.
@Suite(.serialized) struct CLIProxmoxTests {
    struct Setup {
        static let token = "clusterctl@pve!lab=5f0c1d2e-secret"
        let cli: CLIHarness
        let model: ProxmoxModel
        let front: TLSLoopbackFront
        let identity: TLSLoopbackFront.Identity
        var environment: [String: String] { ["PROXMOX_TOKEN": Self.token] }

        enum Trust { case caFile, pinAlone }

        init(trust: Trust) throws {
            cli = try CLIHarness()
            model = try ProxmoxModel(token: Self.token, templateVMID: 9000, time: SystemTimeSource(), taskDuration: .milliseconds(300))
            identity = try TLSLoopbackFront.Identity.selfSigned()
            front = try TLSLoopbackFront(backendPort: model.port, identity: identity)
            var spec = try cli.read("clusters/lab.yaml")
                .replacingOccurrences(of: "url: https://pve.lab.home.arpa:8006", with: "url: \(front.baseURL)")
            switch trust {
            case .caFile:
                try cli.write("pve-ca.pem", identity.certificatePEM)
                spec = spec.replacingOccurrences(
                    of: "caFile: ~/.config/clusterctl/pve-ca.pem", with: "caFile: \(cli.workDirectory.appendingPathComponent("pve-ca.pem").path)")
            case .pinAlone:
                spec = spec.replacingOccurrences(
                    of: "caFile: ~/.config/clusterctl/pve-ca.pem", with: "pinnedPublicKey: \"\(try identity.publicKeyPin())\"")
            }
            try cli.write("clusters/lab.yaml", spec)
        }

        func stop() {
            front.stop()
            model.stop()
            cli.cleanUp()
        }

        func up() throws -> CLIHarness.Output { try cli.run(["up", "lab", "--until", "machines"], environment: environment) }

        var names: [String] { model.machines.compactMap(\.name).sorted() }
        static let expected = ["lab-cp-1", "lab-cp-2", "lab-cp-3", "lab-worker-1", "lab-worker-2"]
    }

    @Test(arguments: [Setup.Trust.caFile, .pinAlone])
    func upMakesAllFiveVMsInOneRunAndThePlanShowsNoDrift(trust: Setup.Trust) throws {
        let setup = try Setup(trust: trust)
        defer { setup.stop() }
        let up = try setup.up()
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        #expect(up.stdout.contains("5 of 5 nodes on track"), "\(up.stdout)\n\(up.stderr)")
        #expect(setup.names == Setup.expected)
        #expect(Set(setup.model.machines.map(\.vmid)).count == 5)
        #expect(setup.model.machines.allSatisfy { $0.status == "running" && $0.lock == nil })
        #expect(setup.model.machines.filter { $0.name?.hasPrefix("lab-cp-") == true }.allSatisfy { $0.diskGiB == 20 && $0.cores == 2 })

        // The disk is read back (maxdisk): nothing to change, no false drift.
        let plan = try setup.cli.run(["plan", "lab"], environment: setup.environment)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(!plan.stdout.contains("replace the node to resize"), "\(plan.stdout)")
        #expect(!plan.stdout.contains("  + lab-"), "\(plan.stdout)")
        let clones = setup.model.log.filter { $0.hasPrefix("POST") && $0.hasSuffix("/clone") }.count
        let again = try setup.up()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(setup.model.log.filter { $0.hasPrefix("POST") && $0.hasSuffix("/clone") }.count == clones, "a re-run clones nothing")
    }

    @Test func serverErrorsAndLostAnswersStillConvergeWithoutDuplicates() throws {
        let setup = try Setup(trust: .pinAlone)
        defer { setup.stop() }
        setup.model.inject(.commitThenStatus(500), count: 2, method: "POST", path: "/clone")
        setup.model.inject(.status(503), count: 3, method: "GET", path: "/cluster/nextid")
        setup.model.inject(.status(500), count: 2, method: "GET", path: "/cluster/resources")
        setup.model.inject(.dropConnection, count: 2, method: "GET", path: "/tasks/")
        setup.model.inject(.status(502), count: 1, method: "PUT", path: "/resize")
        let up = try setup.up()
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        #expect(up.stdout.contains("5 of 5 nodes on track"), "\(up.stdout)\n\(up.stderr)")
        #expect(setup.names == Setup.expected, "\(setup.model.machines.map { ($0.vmid, $0.name ?? "-") })")
        #expect(setup.model.machines.count == 5)
        #expect(setup.model.pendingFaults == 0, "every injected fault was met")
        #expect(setup.model.machines.allSatisfy { $0.tags.contains("cc-cluster-lab") && $0.status == "running" })
    }

    @Test func aWrongPinIsRefusedBeforeAnyRequest() throws {
        let setup = try Setup(trust: .caFile)
        defer { setup.stop() }
        let other = try TLSLoopbackFront.Identity.selfSigned()
        let spec = try setup.cli.read("clusters/lab.yaml")
        let caLine = try #require(spec.split(separator: "\n").first { $0.contains("caFile:") })
        try setup.cli.write(
            "clusters/lab.yaml", spec.replacingOccurrences(of: caLine, with: "      pinnedPublicKey: \"\(try other.publicKeyPin())\""))
        let plan = try setup.cli.run(["plan", "lab"], environment: setup.environment)
        #expect(plan.stdout.contains("pinned") || plan.stderr.contains("pinned"), "\(plan.stdout)\n\(plan.stderr)")
        #expect(setup.model.log.isEmpty, "\(setup.model.log)")
    }
}
