/// One provider backend: creates, lists and deletes the machines of a cluster.
///
/// Conforming types live in the `Provisioners` module (`HetznerProvisioner`, `LibvirtProvisioner`,
/// `ProxmoxProvisioner`, `SimulatedProvisioner`). Every method is idempotent where the provider
/// allows it, and every machine carries its ``NodeIdentity`` so ``listMachines(cluster:)`` is the
/// single source of truth for what exists.
public protocol Provisioner: Sendable {
    /// The name the spec gives this provider (a key of `providers:`).
    var name: String { get }

    /// Whether ``MachineRequest/userData`` is delivered to the machine at creation (cloud-init,
    /// Hetzner user data, nocloud seed). When false, machines boot into maintenance mode and the
    /// executor applies their config over the Talos API.
    var acceptsUserData: Bool { get }

    /// Makes sure the image is present, building or uploading it when missing; returns it.
    func ensureImage(_ request: ImageRequest) async throws -> ProviderImage

    /// Creates what the cluster shares on this provider (networks, firewalls, placement groups,
    /// floating IPs). Idempotent; owned by the cluster's labels.
    func ensureClusterResources(cluster: String) async throws

    /// Every machine this provider holds that carries the cluster's identity.
    func listMachines(cluster: String) async throws -> [ObservedMachine]

    /// Creates one machine. Returns as soon as the provider has accepted it; a machine that
    /// already exists under the same node name is returned as it is, never duplicated.
    func createMachine(_ request: MachineRequest) async throws -> ObservedMachine

    /// Waits until the machine is running and has an address, using the provider's own progress
    /// signals (actions, tasks, domain state).
    func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine

    /// Deletes the machine and the storage it owns. Deleting a machine that is gone succeeds.
    func deleteMachine(_ machine: ObservedMachine) async throws

    /// Deletes what ``ensureClusterResources(cluster:)`` created; only what carries the cluster's labels.
    func deleteClusterResources(cluster: String) async throws
}

/// A provider that can hold the cluster's floating ingress IP and move it between machines.
public protocol FloatingIPProvisioner: Provisioner {
    /// Creates the cluster's floating IP if it does not exist (idempotent, owned by the cluster's
    /// labels) and returns its address, which goes into every machine config's endpoint and SANs.
    func ensureFloatingIP(named name: String, cluster: String) async throws -> String
    /// The floating IP's address if it exists; never creates it.
    func floatingIPAddress(named name: String, cluster: String) async throws -> String?
    /// Points the named floating IP at the machine; returns the IP address.
    func assignFloatingIP(named name: String, cluster: String, to machine: ObservedMachine) async throws -> String
    /// The machine the floating IP points at now, if any.
    func floatingIPTarget(named name: String, cluster: String) async throws -> String?
}
