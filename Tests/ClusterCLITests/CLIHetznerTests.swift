import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// `clusterctl up home --until machines` and `down` against the Hetzner API model on loopback,
/// reached through HCLOUD_ENDPOINT like Hetzner's own CLI. Only the Hetzner pools are touched;
/// the home hypervisor, which this machine cannot reach, does not stop them.
@Suite(.serialized) struct CLIHetznerTests {
    struct Setup {
        let cli: CLIHarness
        let model: HetznerCloudModel
        let server: HTTPLoopbackServer
        var environment: [String: String] { ["HCLOUD_ENDPOINT": server.baseURL + "/v1", "HCLOUD_TOKEN": model.token] }

        init() throws {
            cli = try CLIHarness()
            // The model knows the common server types; the example's cpx31 is not among them.
            try cli.write("clusters/home.yaml", try cli.read("clusters/home.yaml").replacingOccurrences(of: "serverType: cpx31", with: "serverType: cx22"))
            let model = HetznerCloudModel(time: SystemTimeSource(), actionDuration: .milliseconds(300))
            self.model = model
            server = try HTTPLoopbackServer { model.handle($0) }
            // A Talos snapshot built earlier (`clusterctl image build`), found by its labels.
            let spec = try SpecLoader.load(path: cli.workDirectory.appendingPathComponent("clusters/home.yaml").path).spec
            let request = ImageRequest(name: spec.talos.image, talosVersion: spec.talos.version.description, schematicID: spec.talos.schematicID, architecture: "amd64", platform: "hcloud")
            _ = model.addSnapshot(description: "Talos \(spec.talos.version)", labels: HetznerLabels.image(request))
        }

        func serverCreates() -> Int { model.requests.filter { $0.method == "POST" && $0.path.hasSuffix("/servers") && $0.status < 300 }.count }
    }

    @Test func upUntilMachinesThenRerunThenDown() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let up = try setup.cli.run(["up", "home", "--until", "machines"], environment: setup.environment)
        // The hypervisor at home cannot be read from here: its pools are left alone, and the run says so and exits 1.
        #expect(up.status == 1, "\(up.stderr)")
        #expect(up.stderr.contains("error: provider workstation could not be read"), "\(up.stderr)")
        #expect(up.stdout.contains("stopped after machines as asked; 4 of 4 nodes on track"), "\(up.stdout)")
        #expect(up.stderr.contains("pool big left alone: provider workstation could not be read"))
        let names = setup.model.servers.map(\.name).sorted()
        #expect(names == ["home-cloud-1", "home-cloud-2", "home-cp-1", "home-cp-2"])
        #expect(setup.model.servers.allSatisfy { $0.labels["cluster"] == "home" })
        #expect(setup.model.resourceNames.contains("floating_ip:ingress"))
        #expect(setup.serverCreates() == 4)

        let again = try setup.cli.run(["up", "home", "--until", "machines"], environment: setup.environment)
        #expect(again.status == 1 && !again.stderr.contains("✘"), "\(again.stderr)")
        #expect(setup.serverCreates() == 4, "a re-run sends no create")

        let plan = try setup.cli.run(["plan", "home"], environment: setup.environment)
        #expect(!plan.stdout.contains("  + home-"), "\(plan.stdout)")

        let down = try setup.cli.run(["down", "home", "--yes"], environment: setup.environment)
        #expect(down.status == 1 && down.stderr.contains("error: provider workstation could not be read"), "\(down.stderr)")
        #expect(setup.model.servers.isEmpty)
        #expect(setup.model.resourceNames.isEmpty, "\(setup.model.resourceNames)")
    }

    @Test func rateLimitsAndServerErrorsStillConvergeWithoutDuplicates() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        setup.model.inject(.rateLimited, count: 3, method: "POST", path: "/v1/servers")
        setup.model.inject(.status(503, code: "unavailable"), count: 2, method: "POST", path: "/v1/servers")
        setup.model.inject(.status(503, code: "unavailable"), count: 2, method: "GET")
        let up = try setup.cli.run(["up", "home", "--until", "machines"], environment: setup.environment)
        #expect(up.status == 1 && !up.stderr.contains("✘"), "only the unreadable workstation fails the run: \(up.stderr)")
        let names = setup.model.servers.map(\.name)
        #expect(names.count == 4 && Set(names).count == 4, "\(names)")
        #expect(setup.model.requests.contains { $0.status == 429 })
        #expect(setup.model.requests.contains { $0.status == 503 })
    }

    @Test func missingTokenLeavesHetznerAloneWithTheReason() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let plan = try setup.cli.run(["plan", "home"], environment: ["HCLOUD_TOKEN": "", "HCLOUD_ENDPOINT": setup.server.baseURL + "/v1"])
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("error: provider hcloud could not be read"), "\(plan.stderr)")
        #expect(plan.stdout.contains("provider hcloud could not be read (the Hetzner API token is not set: environment variable HCLOUD_TOKEN is empty"), "\(plan.stdout)")
        #expect(setup.model.requests.isEmpty)
    }
}
