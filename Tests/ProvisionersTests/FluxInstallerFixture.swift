import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners

/// A cluster and a Git host for the cluster half of Flux: a real bare repository behind a real
/// sshd (or git http-backend), the Kubernetes API model behind OpenSSL with client
/// certificates, Flux's controllers modelled over it with real git, and the reference
/// components of Flux v2.9.4 as an air-gapped `componentsFile`.
final class FluxInstallerFixture: @unchecked Sendable {
    static let secrets = Result { try SecretsBundle.generate(talosVersion: SemanticVersion(major: 1, minor: 6, patch: 0), now: Date().addingTimeInterval(-300)) }
    static let token = "glpat-fl0x-T0KEN-value"

    let ssh: GitTestServer?
    let http: GitHTTPTestServer?
    let peer: KubernetesAPIPeer
    let controllers: FluxControllerModel
    let home: URL
    let key: FluxDeployKey
    let keyFile: String
    let knownHostsFile: String
    let componentsFile: String

    /// - Parameter https: serve the repository over HTTP with a token instead of SSH.
    init(https: Bool = false, establishDelay: Double = 0.3) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-flux-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        key = FluxDeployKey.generate()
        keyFile = home.appendingPathComponent("deploy-key").path
        knownHostsFile = home.appendingPathComponent("known_hosts").path
        _ = FileManager.default.createFile(atPath: keyFile, contents: Data(key.privateKeyPEM.utf8), attributes: [.posixPermissions: 0o600])
        componentsFile = try FluxReference.path("bootstrap-layout/clusters/home/flux-system/gotk-components.yaml")
        if https {
            ssh = nil
            http = try GitHTTPTestServer(token: Self.token)
            try http?.repository.commit(path: "README.md", content: "# fleet\n", message: "Initial commit")
        } else {
            let server = try GitTestServer()
            ssh = server
            http = nil
            try server.authorizeDeployKey(key.publicKeyLine)
            _ = FileManager.default.createFile(atPath: knownHostsFile, contents: Data(try server.knownHosts().utf8))
            try server.repository.commit(path: "README.md", content: "# fleet\n", message: "Initial commit")
        }
        peer = try KubernetesAPIPeer(secrets: try Self.secrets.get())
        peer.model.objects.establishDelay = establishDelay
        controllers = try FluxControllerModel(model: peer.model, resync: 0.3)
    }

    func stop() {
        controllers.stop()
        peer.stop()
        ssh?.stop()
        http?.stop()
        try? FileManager.default.removeItem(at: home)
    }

    var repository: BareGitRepository { ssh?.repository ?? http!.repository }
    var url: String { ssh?.url ?? http!.url }
    var store: KubernetesObjectStore { peer.model.objects }

    /// The spec's gitops: the deploy key file over SSH (or the token's variable over HTTPS);
    /// without `credentials`, the cluster's own deploy key (``authorizeGeneratedKey()``).
    func spec(path: String = "clusters/home", branch: String = "main", credentials: Bool = true) -> GitOpsSpec {
        let given: SecretReference? = credentials ? (http == nil ? .file(keyFile) : .environment("FLUX_GIT_TOKEN")) : nil
        return GitOpsSpec(
            url: url, branch: branch, path: path, credentials: given, knownHostsFile: http == nil ? knownHostsFile : nil,
            flux: FluxSpec(componentsFile: componentsFile))
    }

    var environment: [String: String] {
        ["CLUSTERCTL_HOME": home.path, "HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "FLUX_GIT_TOKEN": Self.token]
    }

    func client() throws -> KubernetesClient { KubernetesClient(kubeconfig: try peer.adminKubeconfig()) }

    func installer(timeout: Duration = .seconds(60)) throws -> FluxInstaller {
        var installer = FluxInstaller(
            repository: GitBootstrapRepository(environment: environment), kubernetes: try client(), cluster: "home", environment: environment)
        installer.pollInterval = .milliseconds(100)
        installer.timeout = timeout
        return installer
    }

    /// Generates the cluster's deploy key where clusterctl keeps it and registers it with the Git host.
    @discardableResult
    func authorizeGeneratedKey() throws -> FluxDeployKey {
        let (generated, _) = try FluxDeployKey.loadOrGenerate(at: FluxDeployKey.defaultFile(cluster: "home", environment: environment))
        try ssh?.authorizeDeployKey(generated.publicKeyLine)
        return generated
    }

    /// A `flux-system` Secret someone made by hand (with its Namespace) before clusterctl ran.
    func seedSecret(_ key: FluxDeployKey, knownHosts: String) {
        store.seed(.object(["apiVersion": "v1", "kind": "Namespace", "metadata": .object(["name": "flux-system"])]))
        store.seed(.object([
            "apiVersion": "v1", "kind": "Secret", "metadata": .object(["name": "flux-system", "namespace": "flux-system"]),
            "stringData": .object(["identity": .string(key.privateKeyPEM), "identity.pub": .string(key.publicKeyLine), "known_hosts": .string(knownHosts)]),
        ]))
    }

    /// An object as the API holds it now.
    func object(_ apiVersion: String, _ kind: String, _ name: String = "flux-system", namespace: String? = "flux-system") -> JSONValue? {
        store.object(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
    }

    /// The `flux-system` Secret's data, decoded.
    func secretData() -> [String: String]? {
        guard let secret = object("v1", "Secret") else { return nil }
        var result: [String: String] = [:]
        for (key, value) in secret["data"]?.objectValue ?? [:] {
            result[key] = value.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        }
        return result
    }

    /// Changes the Kustomization as `kubectl edit` would.
    func editKustomization(_ change: (inout JSONValue) -> Void) {
        store.update(apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", namespace: "flux-system", name: "flux-system", change)
    }
}
