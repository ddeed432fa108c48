/// Whether a machine has power, as its provider reports it.
public enum PowerState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Powered on. The operating system may still be booting: power says nothing about Talos.
    case on
    /// Powered off: the machine runs nothing and answers nothing.
    case off
    /// Between the two: a power action the provider is carrying out (Hetzner `starting`,
    /// `stopping`; libvirt `in shutdown`). It settles to ``on`` or ``off`` by itself.
    case transitioning
    /// The provider cannot say (Hetzner `unknown`, a crashed libvirt domain, a failed simulated host).
    case unknown

    public var description: String { rawValue }
}

/// What to do with a machine's power; the verbs of `clusterctl node power`.
public enum PowerAction: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Cut power at once, like pulling the plug (no ACPI shutdown, no draining): a drill's fault.
    case off
    case on
    /// Cut power and restore it at once, like the reset button.
    case reset

    public var description: String { rawValue }
}

extension PowerAction {
    /// The provider's own word for this action, from a backend's table.
    public func command(off: String, on: String, reset: String) -> String {
        switch self {
        case .off: off
        case .on: on
        case .reset: reset
        }
    }
}
