public import ClusterKit
import Synchronization

/// The ``FluxInstaller`` of a real cluster, built on first use: the cluster's Kubernetes API is
/// known only once a control plane runs and hands out its admin kubeconfig over the Talos API
/// (``RealKubernetesAPI/adminKubeconfig()``), long after the backend is made.
public final class LazyFluxInstaller: GitOpsInstaller {
    /// The admin kubeconfig, as YAML (a secret: never logged).
    public typealias KubeconfigSource = @Sendable () async throws -> String

    private let kubeconfig: KubeconfigSource
    private let cluster: String
    private let environment: [String: String]
    private let time: any TimeSource
    private let log: @Sendable (String) -> Void
    private let built = Mutex<FluxInstaller?>(nil)

    /// - Parameters:
    ///   - environment: where the Git token (`FLUX_GIT_TOKEN` or the spec's variable) and the
    ///     clusterctl directory (`CLUSTERCTL_HOME`, `HOME`: the generated deploy key and the
    ///     downloaded components live there) are read.
    ///   - log: where the installer's progress lines go (never secrets).
    public init(
        cluster: String, environment: [String: String], time: any TimeSource = SystemTimeSource(),
        log: @escaping @Sendable (String) -> Void = { _ in }, kubeconfig: @escaping KubeconfigSource
    ) {
        self.cluster = cluster
        self.environment = environment
        self.time = time
        self.log = log
        self.kubeconfig = kubeconfig
    }

    public func status() async throws -> GitOpsStatus? { try await installer().status() }

    public func install(_ spec: GitOpsSpec, force: Bool) async throws -> GitOpsInstallOutcome {
        try await installer().install(spec, force: force)
    }

    private func installer() async throws -> FluxInstaller {
        if let ready = built.withLock({ $0 }) { return ready }
        let text = try await kubeconfig()
        var made = FluxInstaller(
            kubeconfig: try Kubeconfig(parsing: text, source: "the admin kubeconfig of \(cluster)"), cluster: cluster, time: time, environment: environment)
        made.log = log
        return built.withLock { current in
            if let current { return current }
            current = made
            return made
        }
    }
}
