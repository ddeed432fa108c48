public import ClusterKit
public import Foundation

/// ``GitOpsInstaller`` for a real cluster: does what `flux bootstrap git` does (fluxcd/flux2
/// `pkg/bootstrap/bootstrap.go` `Run` and `bootstrap_plain_git.go`), in the same order:
///
/// 1. Refuses, before touching anything, to point an installation at another URL, branch or
///    path unless forced (flux: "sync path configuration ... would overwrite path ... of existing
///    Kustomization", `kustomizationPathDiffers`; the URL and branch are refused the same way
///    here, since they move the cluster to other sources just as surely).
/// 2. Writes and pushes the bootstrap layout (the Git half, ``GitOpsRepository``).
/// 3. Applies the components only when Flux is not installed yet, that is the `flux-system`
///    Kustomization is missing or has applied nothing (`mustInstallManifests`); otherwise Flux
///    upgrades itself from the pushed commit.
/// 4. Creates the `flux-system` Secret; an existing one is left alone unless the spec named
///    credentials (`ReconcileSourceSecret`), and then replaced only when it differs.
/// 5. Applies the GitRepository and Kustomization when they are missing or point elsewhere.
/// 6. Waits until both are Ready at `<branch>@sha1:<pushed commit>` (``FluxReadiness``).
///
/// Applies are server-side, in two stages as Flux's own applier stages them (fluxcd/pkg
/// `ssa/manager_apply.go` `ApplyAllStaged`): CRDs, Namespaces and ClusterRoles first, then a wait
/// until the CRDs are Established and the Namespaces Active, then everything else. The field
/// manager is `flux`, the one the flux CLI applies with (fluxcd/flux2 `internal/utils/apply.go`),
/// and conflicts are forced: once installed, kustomize-controller owns these objects.
///
/// Secret values never reach logs, messages or errors.
public struct FluxInstaller: GitOpsInstaller {
    /// The field manager of every apply.
    public static let fieldManager = "flux"

    public var repository: any GitOpsRepository
    public var kubernetes: any KubernetesObjectAPI
    /// The cluster's name: its generated deploy key lives under its clusterctl directory.
    public var cluster: String
    /// Loads the pinned components (``FluxComponentsSource/load(_:cacheDirectory:environment:)`` by default).
    public var components: @Sendable (FluxSpec?) async throws -> FluxComponents
    public var environment: [String: String]
    public var time: any TimeSource
    /// How often readiness is polled (2 s, as Flux's applier waits).
    public var pollInterval: Duration = .seconds(2)
    /// How long the CRDs and then the sync objects may take (flux's `--timeout` default, 5 m).
    public var timeout: Duration = .seconds(300)
    /// Where progress lines go (never secrets).
    public var log: @Sendable (String) -> Void = { _ in }

    /// - Parameters:
    ///   - cacheDirectory: where a downloaded components release is kept (the cluster's directory).
    public init(
        repository: any GitOpsRepository, kubernetes: any KubernetesObjectAPI, cluster: String, cacheDirectory: URL? = nil,
        componentsSource: FluxComponentsSource = FluxComponentsSource(), time: any TimeSource = SystemTimeSource(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.repository = repository
        self.kubernetes = kubernetes
        self.cluster = cluster
        self.time = time
        self.environment = environment
        components = { flux in try await componentsSource.load(flux, cacheDirectory: cacheDirectory, environment: environment) }
    }

    /// The installer for a real cluster: git through ``GitBootstrapRepository``, the API through
    /// the admin kubeconfig, a downloaded components release cached (and the deploy key
    /// generated) in the cluster's clusterctl directory.
    public init(
        kubeconfig: Kubeconfig, cluster: String, time: any TimeSource = SystemTimeSource(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.init(
            repository: GitBootstrapRepository(environment: environment), kubernetes: KubernetesClient(kubeconfig: kubeconfig, time: time),
            cluster: cluster, cacheDirectory: SecretsStore.defaultDirectory(cluster: cluster, environment: environment), time: time,
            environment: environment)
    }

    static let gitRepository = KubernetesObjectReference(
        apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", namespace: FluxBootstrapLayout.namespace, name: FluxBootstrapLayout.namespace)
    static let kustomization = KubernetesObjectReference(
        apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", namespace: FluxBootstrapLayout.namespace, name: FluxBootstrapLayout.namespace)
    static let secret = KubernetesObjectReference(
        apiVersion: "v1", kind: "Secret", namespace: FluxBootstrapLayout.namespace, name: FluxBootstrapLayout.namespace)

    // MARK: GitOpsInstaller

    public func status() async throws -> GitOpsStatus? {
        guard let source = try await kubernetes.object(Self.gitRepository), let sync = try await kubernetes.object(Self.kustomization) else {
            return nil
        }
        return Self.status(source: source, sync: sync)
    }

    public func install(_ spec: GitOpsSpec, force: Bool) async throws -> GitOpsInstallOutcome {
        let layout = try FluxBootstrapLayout(spec: spec)
        let existingSync = try await kubernetes.object(Self.kustomization)
        let existingSource = try await kubernetes.object(Self.gitRepository)
        let current = existingSource.flatMap { source in existingSync.map { Self.status(source: source, sync: $0) } }
        let repointing = current.map { !$0.matches(spec) } ?? false
        if let current, repointing, !force {
            throw ClusterError(
                .refused,
                "Flux in this cluster reconciles \(current.url) (branch \(current.branch), path \(current.path)); the spec says \(layout.committedURL) (branch \(layout.branch), path ./\(layout.path)). Nothing was changed",
                hint: "to move this cluster to the spec's repository path, run `clusterctl up \(cluster) --force`; otherwise fix gitops in the spec")
        }

        let components = try await components(spec.flux)
        let bootstrap = try await repository.bootstrap(spec: spec, cluster: cluster, components: components, environment: environment)
        var messages = bootstrap.messages
        bootstrap.messages.forEach(log)

        var applied: [String] = []
        // Flux installs its components only once; afterwards it upgrades itself from Git (`mustInstallManifests`).
        let mustInstall = existingSync.map { ($0.json.value(at: ["status", "lastAppliedRevision"])?.stringValue ?? "").isEmpty } ?? true
        if mustInstall {
            applied += try await applyStaged(try KubernetesObject.documents(yaml: components.manifest), what: "Flux \(components.version) components")
        }
        let secret = try await reconcileSecret(bootstrap.sourceSecret, credentialsGiven: bootstrap.credentialsGiven)
        if secret != .kept { messages.append("\(secret.rawValue) Secret \(Self.secret.namespace ?? "")/\(Self.secret.name)") }
        if mustInstall || repointing || existingSource == nil || existingSync == nil {
            applied += try await applyStaged(try KubernetesObject.documents(yaml: layout.syncManifest), what: "the sync objects")
        }
        if !applied.isEmpty { messages.append("applied \(applied.count) objects") }

        let revision = bootstrap.push.revision
        log("waiting for Flux to reconcile \(revision)")
        try await waitReconciled(Self.gitRepository, revision: revision)
        try await waitReconciled(Self.kustomization, revision: revision)
        messages.append("Flux is Ready at \(revision)")
        return GitOpsInstallOutcome(revision: revision, pushedCommits: bootstrap.push.commits, applied: applied, secret: secret, messages: messages)
    }

    // MARK: Steps

    /// Stage one (CRDs, Namespaces, ClusterRoles: `IsClusterDefinition`), the wait, then the rest.
    private func applyStaged(_ objects: [KubernetesObject], what: String) async throws -> [String] {
        let definitions: Set = ["CustomResourceDefinition", "Namespace", "ClusterRole"]
        let first = objects.filter { definitions.contains($0.kind) }
        let rest = objects.filter { !definitions.contains($0.kind) }
        var applied: [String] = []
        for object in first {
            try await kubernetes.apply(object, fieldManager: Self.fieldManager, force: true)
            applied.append(object.reference.description)
        }
        if !first.isEmpty { try await waitEstablished(first) }
        for object in rest {
            try await kubernetes.apply(object, fieldManager: Self.fieldManager, force: true)
            applied.append(object.reference.description)
        }
        log("applied \(what): \(applied.count) objects")
        return applied
    }

    /// Until every CRD is Established (apiextensions/v1 `status.conditions`) and every Namespace
    /// is `Active`: before that, the API server does not serve the new kinds.
    private func waitEstablished(_ objects: [KubernetesObject]) async throws {
        let deadline = time.now + timeout
        var pending = objects.filter { $0.kind == "CustomResourceDefinition" || $0.kind == "Namespace" }.map(\.reference)
        while true {
            var still: [KubernetesObjectReference] = []
            for reference in pending {
                let object = try await kubernetes.object(reference)
                let done =
                    reference.kind == "Namespace"
                    ? object?.json.value(at: ["status", "phase"])?.stringValue == "Active"
                    : object?.condition("Established")?.status == "True"
                if !done { still.append(reference) }
            }
            pending = still
            if pending.isEmpty { return }
            if time.now >= deadline {
                throw ClusterError(
                    .timeout, "Kubernetes API: \(pending.map(\.description).joined(separator: ", ")) not established after \(timeout.formattedSeconds)",
                    hint: "check the API server (`kubectl get crd`); run the command again, it continues where it stopped")
            }
            try await time.sleep(for: pollInterval)
        }
    }

    private func reconcileSecret(_ secret: FluxSourceSecret, credentialsGiven: Bool) async throws -> GitOpsInstallOutcome.SecretAction {
        var object = KubernetesObject(json: .object([
            "apiVersion": "v1", "kind": "Secret", "metadata": .object(["name": .string(secret.name), "namespace": .string(secret.namespace)]),
            "stringData": .object(secret.stringData.mapValues(JSONValue.string)),
        ]))
        guard let existing = try await kubernetes.object(Self.secret) else {
            try await kubernetes.create(object)
            return .created
        }
        // Flux replaces an existing Secret only when credentials were given (`ReconcileSourceSecret`).
        // A replace carries only these keys, so a switch from SSH to HTTPS leaves no stale key behind.
        guard credentialsGiven, Self.data(of: existing) != secret.stringData else { return .kept }
        object.json["metadata"]?["resourceVersion"] = existing.resourceVersion.map(JSONValue.string)
        try await kubernetes.replace(object)
        return .replaced
    }

    /// A Secret's `data`, decoded (the API returns it base64 and never returns `stringData`).
    private static func data(of secret: KubernetesObject) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in secret.json["data"]?.objectValue ?? [:] {
            if let text = value.stringValue, let bytes = Data(base64Encoded: text) { result[key] = String(decoding: bytes, as: UTF8.self) }
        }
        return result
    }

    private func waitReconciled(_ reference: KubernetesObjectReference, revision: String) async throws {
        let deadline = time.now + timeout
        while true {
            var reason = "\(reference) does not exist yet"
            if let object = try await kubernetes.object(reference) {
                switch FluxReadiness.check(object, revision: revision) {
                case .reconciled: return
                case .failed(let message):
                    throw ClusterError(.refused, "Flux: \(message)",
                        hint: "fix the cause in Git or the cluster (`flux get all -n flux-system`), then run the command again")
                case .waiting(let why): reason = why
                }
            }
            if time.now >= deadline {
                throw ClusterError(.timeout, "Flux did not reconcile \(revision) within \(timeout.formattedSeconds): \(reason)",
                    hint: "check the controllers (`flux check`, `kubectl -n flux-system get pods`); run the command again")
            }
            try await time.sleep(for: pollInterval)
        }
    }

    /// The status of an installation from its GitRepository and Kustomization.
    static func status(source: KubernetesObject, sync: KubernetesObject) -> GitOpsStatus {
        let suspended = source.json.value(at: ["spec", "suspend"])?.boolValue == true || sync.json.value(at: ["spec", "suspend"])?.boolValue == true
        let sourceReady = source.condition("Ready")
        let syncReady = sync.condition("Ready")
        let artifact = FluxReadiness.revision(of: source)
        let applied = sync.json.value(at: ["status", "lastAppliedRevision"])?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let ready = !suspended && sourceReady?.status == "True" && syncReady?.status == "True" && applied != nil && applied == artifact
        let failing = [sourceReady, syncReady].compactMap { $0 }.first { $0.status == "False" }
        return GitOpsStatus(
            url: source.json.value(at: ["spec", "url"])?.stringValue ?? "",
            branch: source.json.value(at: ["spec", "ref", "branch"])?.stringValue ?? "",
            path: sync.json.value(at: ["spec", "path"])?.stringValue ?? "",
            ready: ready, revision: applied ?? artifact, suspended: suspended, message: failing?.message)
    }
}
