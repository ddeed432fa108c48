/// How `Reboot` restarts a node (`RebootRequest.Mode`; wire values).
public enum TalosRebootMode: Int, Sendable, Hashable, Codable {
    case `default` = 0
    case powercycle = 1
    case force = 2
}

/// What `Reset` wipes (`ResetRequest`). talosctl's defaults: graceful, no reboot, everything.
public struct TalosResetOptions: Sendable, Hashable, Codable {
    /// Which devices to wipe (`ResetRequest.WipeMode`; wire values).
    public enum WipeMode: Int, Sendable, Hashable, Codable {
        case all = 0
        case systemDisk = 1
        case userDisks = 2
    }

    /// Leave etcd first (a control plane aborts the reset when that fails).
    public var graceful: Bool
    /// Reboot afterwards instead of halting.
    public var reboot: Bool
    /// System partitions to wipe by label (`STATE`, `EPHEMERAL`); empty wipes all of them.
    public var systemPartitions: [String]
    public var mode: WipeMode

    public init(graceful: Bool = true, reboot: Bool = false, systemPartitions: [String] = [], mode: WipeMode = .all) {
        self.graceful = graceful
        self.reboot = reboot
        self.systemPartitions = systemPartitions
        self.mode = mode
    }
}
