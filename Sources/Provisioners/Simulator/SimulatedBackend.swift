public import ClusterKit

extension ClusterBackend {
    /// A backend where every provider of the spec is simulated with its own type's behaviour,
    /// so any spec runs under `--simulate` with no cloud account.
    public static func simulated(spec: ClusterSpec, world: SimulatedWorld, configs: any MachineConfigRendering) -> ClusterBackend {
        var provisioners: [String: any Provisioner] = [:]
        for provider in spec.providers {
            provisioners[provider.name] = SimulatedProvisioner(name: provider.name, type: provider.type, world: world)
        }
        // The simulated nodes sign kubeconfigs with the cluster's own bundle, as Talos does with
        // the secrets in its machine config.
        let talos = SimulatedTalosAPI(world: world, secrets: {
            switch configs {
            case let lazy as LazyTalosConfigSource: try lazy.loaded().renderer.secrets
            case let source as TalosConfigSource: source.renderer.secrets
            default: nil
            }
        })
        return ClusterBackend(
            provisioners: provisioners, talos: talos,
            kubernetes: SimulatedKubernetesAPI(world: world, cluster: spec.name),
            gitops: SimulatedGitOpsInstaller(world: world, cluster: spec.name), configs: configs, time: world.clock)
    }
}
