/// What `Version` reports about a node (machine.proto `Version`).
public struct TalosVersionInfo: Sendable, Hashable, Codable {
    /// The Talos release, e.g. `v1.13.9`.
    public var tag: String
    public var sha: String
    public var arch: String
    /// The platform (`metal`, `hcloud`, `nocloud`, ...) and its mode (`metal`, `cloud`, `container`).
    public var platform: String
    public var platformMode: String
    /// Talos reports `features` only once a config exists, so a node in maintenance mode has none.
    public var hasConfig: Bool

    public init(tag: String, sha: String = "", arch: String = "", platform: String = "", platformMode: String = "", hasConfig: Bool) {
        self.tag = tag
        self.sha = sha
        self.arch = arch
        self.platform = platform
        self.platformMode = platformMode
        self.hasConfig = hasConfig
    }
}
