/// The size of a machine, as the pool's provider understands it: a Hetzner server type, or
/// CPUs, memory and disk for hypervisors and the simulator.
public struct MachineSize: Sendable, Hashable, Codable, CustomStringConvertible {
    public var serverType: String?
    public var cpus: Int?
    public var memoryMiB: Int?
    public var diskGiB: Int?

    public init(serverType: String? = nil, cpus: Int? = nil, memoryMiB: Int? = nil, diskGiB: Int? = nil) {
        self.serverType = serverType
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.diskGiB = diskGiB
    }

    public var description: String {
        if let serverType { return serverType }
        var parts: [String] = []
        if let cpus { parts.append("\(cpus) cpu") }
        if let memoryMiB { parts.append(memoryMiB % 1024 == 0 ? "\(memoryMiB / 1024) GiB" : "\(memoryMiB) MiB") }
        if let diskGiB { parts.append("\(diskGiB) GiB disk") }
        return parts.isEmpty ? "default" : parts.joined(separator: ", ")
    }
}
