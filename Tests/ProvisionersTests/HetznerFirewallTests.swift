import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The firewall opens what the spec's features need and nothing more.
@Suite struct HetznerFirewallTests {
    struct SentRule: Decodable, Hashable {
        var direction: String
        var `protocol`: String
        var port: String?
    }

    struct SentFirewall: Decodable { var rules: [SentRule] }

    static func spec(kubeSpan: Bool, ingress: Bool) -> ClusterSpec {
        var spec = TalosTestSupport.spec(kubeSpan: kubeSpan, endpoint: ingress ? .floatingIP(name: "ingress") : .dns("k8s.example.org"))
        spec.providers.append(ProviderSpec(name: "hcloud", settings: .hetzner(HetznerTestEnvironment.settings)))
        if ingress {
            spec.failover = FailoverSpec(
                ingressIP: IngressIPSpec(name: "ingress", provider: "hcloud", candidatePools: ["cp"]),
                replacement: ReplacementPolicy(mode: .manual, nodeLostAfter: .seconds(600)))
        }
        return spec
    }

    /// The rules the provider sends in `POST /firewalls` to the loopback Hetzner model.
    static func sentRules(kubeSpan: Bool, ingress: Bool) async throws -> Set<SentRule> {
        let env = try HetznerTestEnvironment()
        var provisioner = env.provisioner
        provisioner.firewallRules = HetznerProvisioner.firewallRules(for: Self.spec(kubeSpan: kubeSpan, ingress: ingress), provider: "hcloud")
        try await provisioner.ensureClusterResources(cluster: "home")
        let create = try #require(env.model.requests.first { $0.method == "POST" && $0.path == "/v1/firewalls" })
        #expect((200..<300).contains(create.status))
        let body = try JSONDecoder().decode(SentFirewall.self, from: Data(try #require(create.body).utf8))
        return Set(body.rules)
    }

    static let base: Set<SentRule> = [
        SentRule(direction: "in", protocol: "tcp", port: "50000"), SentRule(direction: "in", protocol: "tcp", port: "6443"),
        SentRule(direction: "in", protocol: "icmp", port: nil),
    ]
    static let kubeSpan = SentRule(direction: "in", protocol: "udp", port: "51820")
    static let ingress: Set<SentRule> = [SentRule(direction: "in", protocol: "tcp", port: "80"), SentRule(direction: "in", protocol: "tcp", port: "443")]

    @Test("KubeSpan opens 51820/udp inbound; without it the port stays closed")
    func kubeSpanPort() async throws {
        #expect(try await Self.sentRules(kubeSpan: true, ingress: false) == Self.base.union([Self.kubeSpan]))
        #expect(try await Self.sentRules(kubeSpan: false, ingress: false) == Self.base)
    }

    @Test("an ingress floating IP on the provider opens HTTP and HTTPS, nothing else")
    func ingressPorts() async throws {
        #expect(try await Self.sentRules(kubeSpan: true, ingress: true) == Self.base.union([Self.kubeSpan]).union(Self.ingress))
        // A floating IP on another provider opens nothing here.
        let elsewhere = HetznerProvisioner.firewallRules(for: Self.spec(kubeSpan: false, ingress: true), provider: "other")
        #expect(Set(elsewhere.map { SentRule(direction: $0.direction, protocol: $0.protocol, port: $0.port) }) == Self.base)
    }

    @Test("the home example's firewall: KubeSpan and the ingress IP")
    func homeExample() throws {
        let loaded = try SpecLoader.load(path: CLIHarness.packageRoot().appendingPathComponent("clusters/home.yaml").path)
        let rules = HetznerProvisioner.firewallRules(for: loaded.spec, provider: "hcloud")
        let ports = Set(rules.map { "\($0.port ?? "-")/\($0.protocol)" })
        #expect(ports == ["50000/tcp", "6443/tcp", "-/icmp", "51820/udp", "80/tcp", "443/tcp"])
    }
}
