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
    ///   - environment: where provider tokens and endpoints are read (`HCLOUD_TOKEN`, `HCLOUD_ENDPOINT`).
    public static func make(
        spec: ClusterSpec, store: SecretsStore, configs: any MachineConfigRendering,
        environment: [String: String] = HetznerProvisioner.processEnvironment()
    ) -> ClusterBackend {
        var provisioners: [String: any Provisioner] = [:]
        for provider in spec.providers {
            provisioners[provider.name] = provisioner(for: provider, spec: spec, environment: environment)
        }
        let talos = RealTalosAPI(store: store)
        let listed = provisioners
        let cluster = spec.name
        let kubernetes = RealKubernetesAPI(talos: talos, machines: {
            var machines: [ObservedMachine] = []
            for provisioner in listed.values {
                // A provider that cannot be read now has no control plane to offer; others may.
                if let found = try? await provisioner.listMachines(cluster: cluster) { machines += found }
            }
            return machines
        })
        return ClusterBackend(
            provisioners: provisioners, talos: talos, kubernetes: kubernetes, gitops: gitopsInstaller(spec: spec, kubernetes: kubernetes),
            configs: configs, time: SystemTimeSource())
    }

    /// The GitOps installer for real clusters. This is where the real Flux installer plugs in;
    /// until it does, every call is refused with ``UnavailableGitOpsInstaller/reason``.
    static func gitopsInstaller(spec: ClusterSpec, kubernetes: any KubernetesAPI) -> any GitOpsInstaller {
        UnavailableGitOpsInstaller()
    }

    /// The last stage `backend` can carry `spec` through: every stage, except that a spec with
    /// `gitops:` stops after bootstrap while its GitOps installer is unavailable.
    public static func furthestStage(of backend: ClusterBackend, for spec: ClusterSpec) -> Stage {
        spec.gitops != nil && backend.gitops is UnavailableGitOpsInstaller ? .bootstrap : .health
    }

    /// Refuses, before anything changes, a run asked to go further than ``furthestStage(of:for:)``.
    public static func checkReachable(_ stage: Stage?, backend: ClusterBackend, spec: ClusterSpec) throws(ClusterError) {
        let furthest = furthestStage(of: backend, for: spec)
        guard (stage ?? .health) > furthest else { return }
        throw ClusterError(
            .refused, "cluster \(spec.name) has gitops: in its spec, and against real providers this build cannot install Flux yet, so it stops after the \(furthest.rawValue) stage; nothing was changed",
            hint: "run with --until \(furthest.rawValue) and install Flux with `flux bootstrap`; or add --simulate")
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
