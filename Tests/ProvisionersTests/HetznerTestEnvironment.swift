import ClusterKit
import ClusterTestSupport
import Provisioners

/// A Hetzner model on loopback, a fast clock shared by model and client, and a provisioner
/// pointed at the model through real libcurl.
struct HetznerTestEnvironment {
    let clock = HTTPFastTimeSource()
    let model: HetznerCloudModel
    let server: HTTPLoopbackServer
    let client: HetznerClient
    let provisioner: HetznerProvisioner

    static func cidr(_ text: String) -> CIDR { try! CIDR(parsing: text) }

    static let settings = HetznerSettings(
        token: .environment("HCLOUD_TOKEN"), locations: ["fsn1", "nbg1"],
        network: HetznerNetwork(name: "home-net", ipRange: cidr("10.0.0.0/16"), subnet: cidr("10.0.1.0/24"), zone: "eu-central"),
        firewall: "home-fw")

    init(settings: HetznerSettings = HetznerTestEnvironment.settings, rateLimit: Int = 3600, retry: HTTPRetryPolicy = HTTPRetryPolicy()) throws {
        let model = HetznerCloudModel(time: clock, rateLimit: rateLimit)
        self.model = model
        server = try HTTPLoopbackServer { model.handle($0) }
        let configuration = HTTPClientConfiguration(connectTimeout: .seconds(5), totalTimeout: .seconds(20), retry: retry)
        let http = HTTPClient(
            transport: CurlHTTPTransport(configuration: configuration), retry: retry, time: clock, wallClock: model.wallClock)
        client = HetznerClient(token: model.token, endpoint: server.baseURL + "/v1", http: http)
        provisioner = HetznerProvisioner(name: "hcloud", settings: settings, client: client, time: clock)
    }

    static let image = ImageRequest(
        name: "default", talosVersion: "v1.11.5", schematicID: String(repeating: "ab12", count: 16), architecture: "amd64", platform: "hcloud")

    func request(pool: String, role: NodeRole, index: Int, userData: String = "machine:\n  type: worker\n", publicIPv4: Bool = true)
        -> MachineRequest
    {
        MachineRequest(
            identity: NodeIdentity(cluster: "home", pool: pool, role: role, node: NodeIdentity.nodeName(cluster: "home", pool: pool, index: index)),
            size: MachineSize(serverType: "cx22"), image: ProviderImage(id: String(HetznerCloudModel.debianImageID), description: ""), location: "fsn1",
            userData: MachineConfigPayload(userData), publicIPv4: publicIPv4)
    }

    /// What `clusterctl up --until machines` does with one provider: image, shared resources,
    /// list, create the missing nodes concurrently, wait for all of them.
    func up(_ requests: [MachineRequest]) async throws -> [ObservedMachine] {
        let image = try await provisioner.ensureImage(Self.image)
        try await provisioner.ensureClusterResources(cluster: "home")
        let existing = Set(try await provisioner.listMachines(cluster: "home").map(\.identity.node))
        let missing = requests.filter { !existing.contains($0.identity.node) }.map { request in
            var request = request
            request.image = image
            return request
        }
        let provisioner = provisioner
        return try await withThrowingTaskGroup(of: ObservedMachine.self) { group in
            for request in missing {
                group.addTask {
                    let machine = try await provisioner.createMachine(request)
                    return try await provisioner.waitUntilRunning(machine)
                }
            }
            var machines: [ObservedMachine] = []
            for try await machine in group { machines.append(machine) }
            return machines.sorted { $0.identity.node < $1.identity.node }
        }
    }

    /// Three control planes and two workers, one without a public IPv4.
    func homeRequests() -> [MachineRequest] {
        (1...3).map { request(pool: "cp", role: .controlPlane, index: $0, userData: "machine:\n  type: controlplane\n") }
            + [request(pool: "workers", role: .worker, index: 1), request(pool: "workers", role: .worker, index: 2, publicIPv4: false)]
    }

    func addSnapshot() {
        model.addSnapshot(description: "Talos", labels: HetznerLabels.image(Self.image))
    }
}
