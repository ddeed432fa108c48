public import ClusterKit

/// Builds the backend of a cluster on real providers: the one place that knows which type
/// speaks for which provider, the Talos machine API and the Kubernetes API.
///
/// A provider whose backend cannot be built (a missing token, a type without a backend in this
/// build) becomes an ``UnavailableProvisioner``: listing it fails with the reason, so the planner
/// leaves its pools alone and the other providers' pools go ahead.
public enum RealBackends {
    /// The backend for `spec`.
    ///
    /// - Parameters:
    ///   - store: the cluster's secrets (the Talos client's credentials come from its bundle).
    ///   - configs: renders machine configs for the executor.
    ///   - environment: where provider tokens and endpoints are read (`HCLOUD_TOKEN`, `HCLOUD_ENDPOINT`),
    ///     and what the Flux installer reads (the Git token, `HOME` and `CLUSTERCTL_HOME`).
    public static func make(
        spec: ClusterSpec, store: SecretsStore, configs: any MachineConfigRendering,
        environment: [String: String] = HetznerProvisioner.processEnvironment()
    ) -> ClusterBackend {
        let provisioners = provisioners(spec: spec, environment: environment)
        let talos = RealTalosAPI(store: store)
        let kubernetes = kubernetesAPI(cluster: spec.name, provisioners: provisioners, talos: talos)
        return ClusterBackend(
            provisioners: provisioners, talos: talos, kubernetes: kubernetes, gitops: gitopsInstaller(spec: spec, kubernetes: kubernetes, environment: environment),
            configs: configs, time: SystemTimeSource())
    }

    /// The Kubernetes API of `spec`'s cluster alone (objects such as the drill's Lease), reached
    /// as ``make(spec:store:configs:environment:)``'s backend reaches it: through the admin
    /// kubeconfig a running control plane hands out.
    public static func kubernetesAPI(
        spec: ClusterSpec, store: SecretsStore, environment: [String: String] = HetznerProvisioner.processEnvironment()
    ) -> RealKubernetesAPI {
        kubernetesAPI(cluster: spec.name, provisioners: provisioners(spec: spec, environment: environment), talos: RealTalosAPI(store: store))
    }

    /// One backend per provider of `spec`, by name.
    private static func provisioners(spec: ClusterSpec, environment: [String: String]) -> [String: any Provisioner] {
        var provisioners: [String: any Provisioner] = [:]
        for provider in spec.providers {
            provisioners[provider.name] = provisioner(for: provider, spec: spec, environment: environment)
        }
        return provisioners
    }

    private static func kubernetesAPI(cluster: String, provisioners: [String: any Provisioner], talos: RealTalosAPI) -> RealKubernetesAPI {
        RealKubernetesAPI(talos: talos, machines: {
            var machines: [ObservedMachine] = []
            for provisioner in provisioners.values {
                // A provider that cannot be read now has no control plane to offer; others may.
                if let found = try? await provisioner.listMachines(cluster: cluster) { machines += found }
            }
            return machines
        })
    }

    /// The GitOps installer for real clusters: ``FluxInstaller``, built once a control plane
    /// hands out the admin kubeconfig, reading the Git token and the clusterctl directory from
    /// `environment`.
    static func gitopsInstaller(spec: ClusterSpec, kubernetes: RealKubernetesAPI, environment: [String: String]) -> any GitOpsInstaller {
        LazyFluxInstaller(cluster: spec.name, environment: environment) { try await kubernetes.adminKubeconfig() }
    }

    /// Refuses, before anything changes, a run that would stop at the gitops stage for want of
    /// a Flux pin: a real cluster gets Flux only at a pinned version
    /// (``FluxComponentsSource/load(_:cacheDirectory:environment:)``), and finding out only
    /// after the machines were made would leave a cluster without the Flux it asked for.
    public static func checkReachable(_ stage: Stage?, spec: ClusterSpec) throws(ClusterError) {
        guard let gitops = spec.gitops, gitops.flux == nil, (stage ?? .health) >= .gitops else { return }
        throw ClusterError(
            .refused, "cluster \(spec.name) has gitops: without gitops.flux, and against real providers clusterctl installs Flux only at a pinned version; nothing was changed",
            hint: "add `flux: {version: v2.9.4, sha256: <sha256 of its install.yaml>}` or `flux: {componentsFile: <flux install --export output>}` under gitops, or run with --until bootstrap")
    }

    /// The backend of one provider, or an ``UnavailableProvisioner`` saying why there is none.
    public static func provisioner(
        for provider: ProviderSpec, spec: ClusterSpec, environment: [String: String] = HetznerProvisioner.processEnvironment()
    ) -> any Provisioner {
        do {
            switch provider.settings {
            case .hetzner(let settings):
                var hetzner = try HetznerProvisioner(name: provider.name, settings: settings, environment: environment)
                hetzner.firewallRules = HetznerProvisioner.firewallRules(for: spec, provider: provider.name)
                return hetzner
            case .libvirt(let settings):
                // The base image is expected on the host (its checksum is not known in advance);
                // ensureImage names the download URL when it is missing.
                return LibvirtProvisioner(name: provider.name, settings: settings, imageSource: nil)
            case .proxmox(let settings):
                return try ProxmoxProvisioner(name: provider.name, settings: settings)
            case .simulator:
                throw ClusterError(.refused, "provider \(provider.name) is a simulator", hint: "add --simulate")
            }
        } catch let error as ClusterError {
            return UnavailableProvisioner(name: provider.name, reason: error)
        } catch {
            return UnavailableProvisioner(name: provider.name, reason: ClusterError(.provider, "\(error)"))
        }
    }
}
