/// Where a machine is in its provider-side lifecycle.
public enum MachinePhase: String, Sendable, Hashable, Codable {
    /// Accepted by the provider, not yet powered on and reachable.
    case provisioning
    case running
    case stopped
    /// The provider reports the machine broken; the planner replaces it.
    case failed
    case deleting
}

/// A machine as its provider reports it. Built only from what the provider itself stores.
public struct ObservedMachine: Sendable, Hashable, Codable {
    /// The provider's own id (Hetzner server id, libvirt domain UUID, Proxmox VMID, ...).
    public var providerID: String
    /// The spec's name for the provider that holds this machine.
    public var provider: String
    public var identity: NodeIdentity
    public var phase: MachinePhase
    /// Addresses the Talos API is reachable on, most preferred first.
    public var addresses: [String]
    public var size: MachineSize
    /// Hetzner location, Proxmox node, libvirt host: the failure domain the machine sits in.
    public var location: String?
    public var imageID: String?

    public init(
        providerID: String, provider: String, identity: NodeIdentity, phase: MachinePhase,
        addresses: [String] = [], size: MachineSize = MachineSize(), location: String? = nil, imageID: String? = nil
    ) {
        self.providerID = providerID
        self.provider = provider
        self.identity = identity
        self.phase = phase
        self.addresses = addresses
        self.size = size
        self.location = location
        self.imageID = imageID
    }
}
