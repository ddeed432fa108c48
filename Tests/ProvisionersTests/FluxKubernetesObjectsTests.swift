import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// ``KubernetesObjectAPI`` over the wire: discovery, server-side apply, create and replace
/// against the API model, with the API server's answers (404, 409, 422 with their Status).
@Suite("Kubernetes objects over TLS", .serialized, .requiresReference(files: FluxReference.files))
struct FluxKubernetesObjectsTests {
    static func peer(establishDelay: Double = 0.3) throws -> KubernetesAPIPeer {
        let peer = try KubernetesAPIPeer(secrets: try FluxInstallerFixture.secrets.get())
        peer.model.objects.establishDelay = establishDelay
        return peer
    }

    static func crd() throws -> KubernetesObject {
        let documents = try KubernetesObject.documents(yaml: try FluxReference.layoutFile("gotk-components.yaml"))
        return try #require(documents.first { $0.kind == "CustomResourceDefinition" && $0.name == "gitrepositories.source.toolkit.fluxcd.io" })
    }

    static func namespace(_ name: String) -> KubernetesObject {
        KubernetesObject(json: .object(["apiVersion": "v1", "kind": "Namespace", "metadata": .object(["name": .string(name)])]))
    }

    static func gitRepository(url: String) -> KubernetesObject {
        KubernetesObject(json: .object([
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": .object(["name": "apps", "namespace": "flux-system"]),
            "spec": .object(["interval": "1m0s", "url": .string(url), "ref": .object(["branch": "main"])]),
        ]))
    }

    @Test func aKindIsRefusedUntilItsCRDIsEstablished() async throws {
        let peer = try Self.peer(establishDelay: 1.0)
        defer { peer.stop() }
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig())
        try await client.apply(Self.namespace("flux-system"), fieldManager: "test", force: false)
        let crd = try await client.apply(try Self.crd(), fieldManager: "test", force: false)
        #expect(crd.condition("NamesAccepted")?.status == "True")
        #expect(crd.condition("Established")?.status == "False")

        let repository = Self.gitRepository(url: "ssh://git@example.com/fleet.git")
        let early = try await #require(throws: ClusterError.self) { try await client.apply(repository, fieldManager: "test", force: false) }
        #expect(early.code == .notFound && early.message.contains("the server could not find the requested resource"))
        #expect(try await client.object(repository.reference) == nil)

        try await Task.sleep(for: .milliseconds(1200))
        let established = try #require(try await client.object(crd.reference))
        #expect(established.condition("Established")?.status == "True")
        let stored = try await client.apply(repository, fieldManager: "test", force: false)
        #expect(stored.generation == 1 && stored.resourceVersion != nil)
        #expect(try await client.object(repository.reference)?.json.value(at: ["spec", "url"]) == "ssh://git@example.com/fleet.git")
    }

    @Test func anotherManagersFieldIsAConflictUnlessForced() async throws {
        let peer = try Self.peer(establishDelay: 0)
        defer { peer.stop() }
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig())
        try await client.apply(Self.namespace("flux-system"), fieldManager: "flux", force: false)
        try await client.apply(try Self.crd(), fieldManager: "flux", force: false)
        try await client.apply(Self.gitRepository(url: "ssh://git@example.com/fleet.git"), fieldManager: "kustomize-controller", force: false)

        // The same value is no conflict: the field becomes shared.
        try await client.apply(Self.gitRepository(url: "ssh://git@example.com/fleet.git"), fieldManager: "flux", force: false)
        let conflict = try await #require(throws: ClusterError.self) {
            try await client.apply(Self.gitRepository(url: "ssh://git@example.com/other.git"), fieldManager: "flux", force: false)
        }
        #expect(conflict.code == .refused)
        #expect(conflict.message.contains("Apply failed with 1 conflict: conflict with \"kustomize-controller\": .spec.url"))
        #expect(conflict.message.contains("[Conflict]"))

        let forced = try await client.apply(Self.gitRepository(url: "ssh://git@example.com/other.git"), fieldManager: "flux", force: true)
        #expect(forced.json.value(at: ["spec", "url"]) == "ssh://git@example.com/other.git")
        #expect(forced.generation == 2)
        // Unchanged apply: same generation and resourceVersion.
        let again = try await client.apply(Self.gitRepository(url: "ssh://git@example.com/other.git"), fieldManager: "flux", force: false)
        #expect(again.generation == 2 && again.resourceVersion == forced.resourceVersion)
    }

    @Test func anInvalidObjectIs422WithTheSchemasMessage() async throws {
        let peer = try Self.peer(establishDelay: 0)
        defer { peer.stop() }
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig())
        try await client.apply(Self.namespace("flux-system"), fieldManager: "flux", force: false)
        try await client.apply(try Self.crd(), fieldManager: "flux", force: false)
        let error = try await #require(throws: ClusterError.self) {
            try await client.apply(Self.gitRepository(url: "git@example.com:fleet.git"), fieldManager: "flux", force: false)
        }
        #expect(error.code == .invalidSpec)
        #expect(error.message.contains("GitRepository.source.toolkit.fluxcd.io \"apps\" is invalid: spec.url: Invalid value: \"git@example.com:fleet.git\""))
        #expect(error.message.contains("[Invalid]"))
    }

    @Test func createAndReplaceHaveTheAPIServersConflicts() async throws {
        let peer = try Self.peer()
        defer { peer.stop() }
        let client = KubernetesClient(kubeconfig: try peer.adminKubeconfig())
        let secret = KubernetesObject(json: .object([
            "apiVersion": "v1", "kind": "Secret", "metadata": .object(["name": "flux-system", "namespace": "flux-system"]),
            "stringData": .object(["username": "git", "password": "s3cr3t"]),
        ]))
        let missing = try await #require(throws: ClusterError.self) { try await client.create(secret) }
        #expect(missing.code == .notFound && missing.message.contains("namespaces \"flux-system\" not found"))

        try await client.apply(Self.namespace("flux-system"), fieldManager: "flux", force: false)
        let created = try await client.create(secret)
        #expect(created.json["data"]?["password"] == .string(Data("s3cr3t".utf8).base64EncodedString()))
        #expect(created.json["stringData"] == nil)
        let exists = try await #require(throws: ClusterError.self) { try await client.create(secret) }
        #expect(exists.code == .refused && exists.message.contains("secrets \"flux-system\" already exists"))

        var stale = secret
        stale.json["metadata"]?["resourceVersion"] = "1"
        let conflict = try await #require(throws: ClusterError.self) { try await client.replace(stale) }
        #expect(conflict.code == .refused && conflict.message.contains("the object has been modified"))

        // A replace drops keys it does not carry.
        var fresh = KubernetesObject(json: .object([
            "apiVersion": "v1", "kind": "Secret", "metadata": .object(["name": "flux-system", "namespace": "flux-system"]),
            "stringData": .object(["identity": "key"]),
        ]))
        fresh.json["metadata"]?["resourceVersion"] = created.json.value(at: ["metadata", "resourceVersion"])
        let replaced = try await client.replace(fresh)
        #expect(replaced.json["data"]?.objectValue?.keys.sorted() == ["identity"])
    }
}
