/// Which network link of a node carries an address: a link name, or a Talos link selector.
///
/// A selector is a Common Expression Language expression over the link's status, e.g.
/// `link.driver == "virtio_net"` or `mac(link.permanent_addr) == "52:54:00:12:34:56"`; clusterctl
/// names the matched link with a `LinkAliasConfig` document and uses the alias (Talos docs,
/// "Link aliases": an alias can stand wherever a link name does; the selector must match exactly
/// one link).
public enum LinkReference: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case selector(String)

    public var description: String {
        switch self {
        case .name(let name): "link \(name)"
        case .selector(let expression): "the link matching \(expression)"
        }
    }
}
