/// How a node takes a new config (`ApplyConfigurationRequest.Mode` in machine.proto; the numbers
/// are the wire values).
public enum TalosApplyMode: Int, Sendable, Hashable, Codable, CaseIterable {
    case reboot = 0
    /// talosctl's default: without a reboot when the change allows it.
    case auto = 1
    case noReboot = 2
    /// Only persisted; takes effect at the next reboot.
    case staged = 3
    /// Applied, then rolled back unless confirmed within the try timeout.
    case tryMode = 4
}

/// What `ApplyConfiguration` answered.
public struct TalosApplyResult: Sendable, Hashable, Codable {
    /// The mode Talos chose (in maintenance mode REBOOT and AUTO become NO_REBOOT).
    public var mode: TalosApplyMode
    public var details: String
    public var warnings: [String]

    public init(mode: TalosApplyMode, details: String = "", warnings: [String] = []) {
        self.mode = mode
        self.details = details
        self.warnings = warnings
    }
}
