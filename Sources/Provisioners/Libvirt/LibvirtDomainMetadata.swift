public import ClusterKit
import Foundation

/// What the provider records in a domain's `<metadata>`, under its own XML namespace, so the
/// inventory is read back from libvirt (libvirt "Domain XML format", General metadata).
public struct LibvirtDomainMetadata: Sendable, Hashable {
    /// The namespace URI of clusterctl's metadata element.
    public static let namespace = "https://clusterctl.dev/xmlns/libvirt/1"
    public static let prefix = "clusterctl"

    public var identity: NodeIdentity
    public var size: MachineSize
    public var imageID: String

    public init(identity: NodeIdentity, size: MachineSize, imageID: String) {
        self.identity = identity
        self.size = size
        self.imageID = imageID
    }

    /// The `<clusterctl:machine>` element for the domain XML.
    public var xml: String {
        var fields = [
            ("cluster", identity.cluster), ("pool", identity.pool), ("role", identity.role.rawValue),
            ("node", identity.node), ("image", imageID),
        ]
        if let cpus = size.cpus { fields.append(("cpus", String(cpus))) }
        if let memory = size.memoryMiB { fields.append(("memory-mib", String(memory))) }
        if let disk = size.diskGiB { fields.append(("disk-gib", String(disk))) }
        let p = Self.prefix
        let inner = fields.map { "<\(p):\($0.0)>\(LibvirtXML.escape($0.1))</\(p):\($0.0)>" }.joined()
        return "<\(p):machine xmlns:\(p)=\"\(Self.namespace)\">\(inner)</\(p):machine>"
    }

    /// Parses what `virsh metadata <domain> <namespace>` prints (the element without its prefix);
    /// nil when it is not a complete clusterctl record.
    public init?(virshOutput text: String) {
        func field(_ name: String) -> String? {
            guard let start = text.range(of: "<\(name)>"), let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
            else { return nil }
            return LibvirtXML.unescape(String(text[start.upperBound..<end.lowerBound]))
        }
        guard let cluster = field("cluster"), let pool = field("pool"), let roleText = field("role"),
            let role = NodeRole(rawValue: roleText), let node = field("node")
        else { return nil }
        identity = NodeIdentity(cluster: cluster, pool: pool, role: role, node: node)
        size = MachineSize(
            cpus: field("cpus").flatMap { Int($0) }, memoryMiB: field("memory-mib").flatMap { Int($0) },
            diskGiB: field("disk-gib").flatMap { Int($0) })
        imageID = field("image") ?? ""
    }
}
