/// Everything the executor talks to for one cluster: its providers, the Talos and Kubernetes
/// APIs, the GitOps installer, the config renderer and the clock. The CLI assembles one from real
/// backends, or from the simulator under `--simulate`.
public struct ClusterBackend: Sendable {
    /// Providers by their spec name.
    public var provisioners: [String: any Provisioner]
    public var talos: any TalosAPI
    public var kubernetes: any KubernetesAPI
    public var gitops: any GitOpsInstaller
    public var configs: any MachineConfigRendering
    public var time: any TimeSource

    public init(
        provisioners: [String: any Provisioner], talos: any TalosAPI, kubernetes: any KubernetesAPI,
        gitops: any GitOpsInstaller, configs: any MachineConfigRendering, time: any TimeSource
    ) {
        self.provisioners = provisioners
        self.talos = talos
        self.kubernetes = kubernetes
        self.gitops = gitops
        self.configs = configs
        self.time = time
    }

    public func provisioner(_ name: String) throws(ClusterError) -> any Provisioner {
        guard let provisioner = provisioners[name] else {
            throw ClusterError(.notFound, "no backend for provider \(name)", hint: "check the providers: section of the spec")
        }
        return provisioner
    }
}
