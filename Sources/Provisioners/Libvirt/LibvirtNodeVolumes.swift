/// The files one node owns on the libvirt host, all inside its cluster's directory
/// (`<storage>/clusterctl-<cluster>/`), all named after the node (which starts with the cluster's
/// name), so a failed create and `down` can remove exactly them.
struct LibvirtNodeVolumes: Sendable, Hashable {
    /// The cluster directory's name is this prefix and the cluster name.
    static let directoryPrefix = "clusterctl-"

    let directory: String
    let node: String

    /// The qcow2 overlay on the base image.
    var disk: String { "\(directory)/\(node).qcow2" }
    /// The `cidata` seed ISO.
    var seed: String { "\(directory)/\(node)-cidata.iso" }
    /// Where the seed's files are gathered before the ISO is built.
    var seedDirectory: String { "\(directory)/.\(node)-cidata" }
    /// The domain XML, uploaded for `virsh define`.
    var xml: String { "\(directory)/.\(node).xml" }

    var all: [String] { [disk, seed, seedDirectory, xml] }

    /// The node a file in a cluster directory belongs to, from its name.
    static func owner(of entry: String) -> String {
        var name = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
        for suffix in [".qcow2", "-cidata.iso", "-cidata", ".xml"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return name
    }
}
