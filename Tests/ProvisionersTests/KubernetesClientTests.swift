import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The Kubernetes client over the wire: libcurl with the admin certificate, OpenSSL (socat)
/// requiring a client certificate signed by the cluster's Kubernetes CA, and the API model.
@Suite("Kubernetes client over TLS", .serialized)
struct KubernetesClientTests {
    static let secrets = Result { try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: Date().addingTimeInterval(-300)) }

    static func peer(_ time: HTTPFastTimeSource = HTTPFastTimeSource()) throws -> KubernetesAPIPeer {
        let peer = try KubernetesAPIPeer(secrets: try secrets.get(), now: { time.now.inSeconds })
        peer.model.addNode("cp-1", roles: ["control-plane"], kubeletVersion: "v1.34.1")
        peer.model.addNode("w-1", kubeletVersion: "v1.34.1")
        peer.model.addDaemonSet("kube-proxy")
        return peer
    }

    static func client(_ peer: KubernetesAPIPeer, identity: PEMCertificateAndKey?, time: HTTPFastTimeSource = HTTPFastTimeSource()) throws -> KubernetesClient {
        let configuration = HTTPClientConfiguration(
            retry: .none, certificateAuthorityPEM: try secrets.get().kubernetesCA.certificatePEM, clientIdentity: identity)
        return KubernetesClient(server: peer.server, transport: CurlHTTPTransport(configuration: configuration), time: time, retry: .none)
    }

    @Test("nodes carry roles, readiness with its reason, kubelet version and the cordon")
    func nodeDetails() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig(), time: HTTPFastTimeSource())
        peer.model.setNodeReady("w-1", false)
        let nodes = try await client.nodes()
        let cp = try #require(nodes.first { $0.name == "cp-1" })
        #expect(cp.ready && cp.roles == ["control-plane"] && cp.kubeletVersion == "v1.34.1")
        #expect(cp.readyReason == "KubeletReady: kubelet is posting ready status")
        let worker = try #require(nodes.first { $0.name == "w-1" })
        #expect(!worker.ready && worker.roles.isEmpty)
        #expect(worker.readyReason == "NodeStatusUnknown: Kubelet stopped posting node status.")
        try await client.setUnschedulable(true, node: "w-1")
        #expect(peer.model.node("w-1")?.unschedulable == true)
        #expect(peer.model.requests.contains("PATCH /api/v1/nodes/w-1"))
    }

    @Test("readyz: ok while ready, false while not, and an error only for what waiting cannot fix")
    func readyz() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig(), time: HTTPFastTimeSource())
        #expect(try await client.isAPIServerUp())
        peer.model.setAPIReady(false)
        #expect(try await !client.isAPIServerUp())
        peer.stop()
        #expect(try await !client.isAPIServerUp())
    }

    /// Refused in the handshake: with TLS 1.3 the server's alert comes after the client's
    /// Finished, so libcurl reports it as the alert ("alert unknown ca", a TLS error) or, when
    /// the server's close overtakes it, as a reset connection. Either way the request never
    /// reaches the API, and the refusal never looks like success.
    static func expectRefused(_ client: KubernetesClient, _ peer: KubernetesAPIPeer) async {
        let error = await #expect(throws: ClusterError.self) { try await client.nodes() }
        let cause = error?.cause as? HTTPError
        #expect(cause?.code == .tls || cause?.code == .transport, "\(String(describing: error))")
        if cause?.code == .tls {
            #expect(error?.isTransient == false)
            #expect(error?.hint?.contains("kubeconfig") == true)
        }
        #expect(peer.model.requests.isEmpty, "\(peer.model.requests)")
    }

    @Test("a client certificate from another CA is refused in the handshake")
    func foreignCertificate() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let other = try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: Date().addingTimeInterval(-300))
        let foreign = try Kubeconfig(parsing: try ClientConfigs.kubeconfig(cluster: "other", server: peer.server, secrets: other, now: Date().addingTimeInterval(-60)))
        await Self.expectRefused(try Self.client(peer, identity: PEMCertificateAndKey(certificatePEM: foreign.clientCertificatePEM, keyPEM: foreign.clientKeyPEM)), peer)
    }

    @Test("no client certificate is refused in the handshake")
    func noCertificate() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        await Self.expectRefused(try Self.client(peer, identity: nil), peer)
    }

    @Test("a TLS alert about a certificate is a TLS failure, not a transport one to retry")
    func alertClassification() {
        #expect(HTTPError.isCertificateAlertMessage("OpenSSL SSL_read: OpenSSL/3.0.19: error:0A000412:SSL routines::sslv3 alert bad certificate, errno 0"))
        #expect(HTTPError.isCertificateAlertMessage("OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0"))
        #expect(HTTPError.isCertificateAlertMessage("error:0A000418:SSL routines::tlsv1 alert unknown ca"))
        #expect(!HTTPError.isCertificateAlertMessage("Recv failure: Connection reset by peer"))
    }

    @Test("a server whose certificate the kubeconfig's CA did not sign is refused, whatever the system trusts")
    func foreignServer() async throws {
        let model = try KubernetesAPIModel()
        defer { model.stop() }
        let front = try TLSLoopbackFront(backendPort: model.port, identity: try TLSLoopbackFront.Identity.selfSigned())
        defer { front.stop() }
        let kubeconfig = try Kubeconfig(
            parsing: try ClientConfigs.kubeconfig(cluster: "x", server: front.baseURL, secrets: try Self.secrets.get(), now: Date().addingTimeInterval(-60)))
        let error = await #expect(throws: ClusterError.self) { try await KubernetesClient(kubeconfig: kubeconfig, time: HTTPFastTimeSource()).nodes() }
        #expect((error?.cause as? HTTPError)?.code == .tls)
    }

    @Test("API errors carry the Status message, reason and code; a missing node maps to not-found")
    func statusErrors() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig(), time: HTTPFastTimeSource())
        let error = await #expect(throws: ClusterError.self) { try await client.setUnschedulable(true, node: "ghost") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "Kubernetes API: cordoning node ghost failed: PATCH /api/v1/nodes/ghost answered HTTP 404: nodes \"ghost\" not found [NotFound]")
        #expect(error?.isTransient == false)
        // Deleting a node that is already gone is success.
        try await client.deleteNode("ghost")
    }

    @Test("the model answers 415 to a patch that is not a merge patch, as the API server does")
    func unsupportedPatch() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let kubeconfig = try peer.adminKubeconfig()
        let configuration = HTTPClientConfiguration(
            certificateAuthorityPEM: kubeconfig.certificateAuthorityPEM,
            clientIdentity: PEMCertificateAndKey(certificatePEM: kubeconfig.clientCertificatePEM, keyPEM: kubeconfig.clientKeyPEM))
        let response = try await CurlHTTPTransport(configuration: configuration).send(
            HTTPRequest(method: .patch, url: peer.server + "/api/v1/nodes/w-1", headers: [(name: "Content-Type", value: "application/json")], body: Array(#"{"spec":{"unschedulable":true}}"#.utf8)))
        #expect(response.status == 415)
        #expect(response.bodyText.contains(#""reason":"UnsupportedMediaType""#))
        #expect(peer.model.node("w-1")?.unschedulable == false)
    }

    @Test("a refused eviction is one request, not a rate-limit wait; DaemonSet pods come back when deleted")
    func evictionIsNotRetriedByTheHTTPLayer() async throws {
        let time = HTTPFastTimeSource()
        let peer = try Self.peer(time)
        defer { peer.stop() }
        peer.model.addPod(name: "db-0", node: "w-1", labels: ["app": "db"], owner: "db", graceSeconds: 5)
        peer.model.addDisruptionBudget(name: "db", matchLabels: ["app": "db"], minAvailable: 1)
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig(), time: time)
        let db = try #require(try await client.pods(onNode: "w-1").first { $0.name == "db-0" })
        #expect(try await client.evict(db) == .blocked(budget: "db", message: "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget db needs 1 healthy pods and has 1 currently"))
        #expect(peer.model.requests.filter { $0.hasSuffix("/eviction") }.count == 1)
        #expect(time.sleeps.isEmpty)

        let proxy = try #require(try await client.pods(onNode: "w-1").first(where: \.isDaemonSetPod))
        #expect(try await client.evict(proxy) == .evicted)
        #expect(try await client.pods(onNode: "w-1").first { $0.name == proxy.name }?.isTerminating == true)
        time.advance(by: .seconds(31))
        let now = try await client.pods(onNode: "w-1").filter(\.isDaemonSetPod)
        #expect(now.count == 1 && now.first?.name != proxy.name && now.first?.isTerminating == false)
    }

    @Test("a Node delete takes its pods with it")
    func nodeDelete() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        peer.model.addPod(name: "web-0", node: "w-1", labels: ["app": "web"], owner: "web")
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig(), time: HTTPFastTimeSource())
        try await client.deleteNode("w-1")
        #expect(try await client.nodes().map(\.name) == ["cp-1"])
        #expect(try await client.pods(onNode: "w-1").isEmpty)
        #expect(peer.model.requests.contains("DELETE /api/v1/nodes/w-1"))
    }
}
