/// One Talos service as `ServiceList` reports it (machine.proto `ServiceInfo`).
public struct TalosServiceStatus: Sendable, Hashable, Codable {
    /// `etcd`, `kubelet`, `apid`, `trustd`, `cri`, ...
    public var id: String
    /// `Running`, `Preparing`, `Waiting`, `Finished`, `Failed`, ...
    public var state: String
    /// Nil while the health is unknown.
    public var healthy: Bool?
    public var lastMessage: String

    public init(id: String, state: String, healthy: Bool?, lastMessage: String = "") {
        self.id = id
        self.state = state
        self.healthy = healthy
        self.lastMessage = lastMessage
    }

    /// Running and, where the service has a health check, healthy.
    public var isUp: Bool { state == "Running" && healthy != false }
}
