public import ClusterKit

/// Where the libvirt provider gets the Talos `nocloud` base image it puts on the host.
public enum LibvirtImageSource: Sendable, Hashable {
    /// A qcow2 file on this machine, uploaded over SFTP; `sha256` is its hex digest.
    case localFile(path: String, sha256: String)
    /// A URL the host downloads with `curl`; `sha256` is the expected hex digest.
    case url(String, sha256: String)

    var sha256: String {
        switch self {
        case .localFile(_, let sha256), .url(_, let sha256): sha256.lowercased()
        }
    }

    /// The Image Factory URL of the nocloud qcow2 disk image for a schematic and version
    /// (Talos docs, "Image Factory": `/image/<schematic>/<version>/nocloud-<arch>.qcow2`).
    public static func factoryURL(for request: ImageRequest) -> String {
        "https://factory.talos.dev/image/\(request.schematicID)/\(request.talosVersion)/nocloud-\(request.architecture).qcow2"
    }
}
