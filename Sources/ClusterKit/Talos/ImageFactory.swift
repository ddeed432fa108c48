/// Image Factory references (https://factory.talos.dev, siderolabs/image-factory README:
/// installer images are `factory.talos.dev/<platform>-installer/<schematic id>:<version>`,
/// the Secure Boot variant `<platform>-installer-secureboot`).
public enum ImageFactory {
    public static let host = "factory.talos.dev"

    /// The installer image for a platform (`metal`, `hcloud`, `nocloud`, ...) and schematic.
    public static func installerImage(platform: String, schematicID: String, talosVersion: SemanticVersion, secureBoot: Bool = false) -> String {
        "\(host)/\(platform)-installer\(secureBoot ? "-secureboot" : "")/\(schematicID):\(talosVersion)"
    }
}
