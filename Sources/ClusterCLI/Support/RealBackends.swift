import ClusterKit
import Provisioners

/// The backend for real providers: one provisioner per provider of the spec.
///
/// A provider whose backend cannot be built (a missing token, a type without a backend in this
/// build) becomes an ``UnavailableProvisioner``: listing it fails with the reason, so the planner
/// leaves its pools alone and the other providers' pools go ahead.
enum RealBackends {
    static func make(spec: ClusterSpec, configs: any MachineConfigRendering) -> ClusterBackend {
        var provisioners: [String: any Provisioner] = [:]
        for provider in spec.providers {
            provisioners[provider.name] = provisioner(for: provider, spec: spec)
        }
        let cluster = UnavailableClusterAPI()
        return ClusterBackend(provisioners: provisioners, talos: cluster, kubernetes: cluster, gitops: cluster, configs: configs, time: SystemTimeSource())
    }

    static func provisioner(for provider: ProviderSpec, spec: ClusterSpec) -> any Provisioner {
        do {
            switch provider.settings {
            case .hetzner(let settings):
                var hetzner = try HetznerProvisioner(name: provider.name, settings: settings)
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

    /// Real backends can create and delete machines; configuring and bootstrapping them needs the
    /// Talos API client this build does not have yet.
    static let furthestStage = Stage.machines

    static func checkReachable(_ stage: Stage?, simulate: Bool) throws {
        guard !simulate else { return }
        if (stage ?? .health) > furthestStage {
            throw ClusterError(
                .refused, "against real providers this build stops after the \(furthestStage.rawValue) stage (it has no Talos machine API client yet)",
                hint: "run with --until images or --until machines, then configure the nodes with `clusterctl gen config` and talosctl; or add --simulate")
        }
    }
}
