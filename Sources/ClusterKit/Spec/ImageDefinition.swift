internal import Foundation
internal import Yams

/// A Talos image the cluster boots, defined in `images/<name>.yaml` as an Image Factory
/// schematic plus the CPU architecture.
///
/// ```yaml
/// architecture: amd64
/// schematic:
///   customization:
///     extraKernelArgs: [console=ttyS0]
///     systemExtensions:
///       officialExtensions: [siderolabs/qemu-guest-agent]
/// ```
public struct ImageDefinition: Sendable, Hashable {
    /// The file's base name (`default` for `images/default.yaml`).
    public var name: String
    public var description: String?
    /// `amd64` or `arm64`.
    public var architecture: String
    public var schematic: Schematic

    public init(name: String, description: String? = nil, architecture: String, schematic: Schematic) {
        self.name = name
        self.description = description
        self.architecture = architecture
        self.schematic = schematic
    }

    /// The Image Factory schematic ID (see ``Schematic/id``).
    public var schematicID: String { schematic.id }

    /// Image Factory's installer image for a Talos version:
    /// `factory.talos.dev/installer/<schematic>:<version>` (Talos docs, "Image Factory").
    public func installerImage(talosVersion: SemanticVersion) -> String {
        "factory.talos.dev/installer/\(schematicID):\(talosVersion)"
    }

    /// Loads `<imagesDirectory>/<name>.yaml`.
    public static func load(name: String, imagesDirectory: String) throws(SpecError) -> ImageDefinition {
        try load(path: (imagesDirectory as NSString).appendingPathComponent("\(name).yaml"))
    }

    /// Loads an image definition file; its name is the file's base name.
    public static func load(path: String) throws(SpecError) -> ImageDefinition {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw SpecError(diagnostics: [
                SpecDiagnostic(severity: .error, file: path, line: 0, column: 0, path: "", message: "cannot read the image definition",
                    hint: "image definitions live in images/<name>.yaml")
            ])
        }
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try load(yaml: text, file: path, name: base)
    }

    /// Decodes an image definition from text, strictly (unknown keys are errors).
    public static func load(yaml: String, file: String, name: String) throws(SpecError) -> ImageDefinition {
        let walker = YAMLWalker(file: file)
        guard let root = walker.parse(yaml),
            let top = walker.map(root, "", keys: ["description", "architecture", "schematic"], what: "an image definition")
        else { throw SpecError(diagnostics: walker.sortedDiagnostics) }
        let description = top.string("description")
        let architecture = top.choice("architecture", ["amd64", "arm64"], required: true, what: "architecture")
        var schematic: Schematic?
        if let node = top.value("schematic") {
            schematic = decodeSchematic(node, "schematic", walker)
        } else {
            schematic = Schematic()
        }
        guard !walker.hasErrors, let architecture, let schematic else { throw SpecError(diagnostics: walker.sortedDiagnostics) }
        return ImageDefinition(name: name, description: description, architecture: architecture, schematic: schematic)
    }

    static func decodeSchematic(_ node: Node, _ path: String, _ walker: YAMLWalker) -> Schematic? {
        guard let fields = walker.map(node, path, keys: ["customization", "overlay"], what: "a schematic") else { return nil }
        var result = Schematic()
        if let overlayNode = fields.value("overlay"),
            let overlay = walker.map(overlayNode, fields.path("overlay"), keys: ["image", "name"], what: "overlay")
        {
            if let image = overlay.string("image", required: true, example: "siderolabs/sbc-raspberrypi"),
                let name = overlay.string("name", required: true, example: "rpi_generic")
            {
                result.overlay = Schematic.Overlay(image: image, name: name)
            }
        }
        if let customNode = fields.value("customization"),
            let custom = walker.map(customNode, fields.path("customization"), keys: ["extraKernelArgs", "meta", "systemExtensions", "secureboot"], what: "customization")
        {
            result.extraKernelArgs = custom.strings("extraKernelArgs", of: "kernel arguments") ?? []
            for arg in result.extraKernelArgs where arg.contains(" ") {
                walker.error(at: custom.path("extraKernelArgs"), "kernel argument \"\(arg)\" contains a space", hint: "give each argument as its own list item")
            }
            if let metaNode = custom.value("meta"), let items = walker.list(metaNode, custom.path("meta"), of: "META entries") {
                for item in items {
                    guard let entry = walker.map(item.node, item.path, keys: ["key", "value"], what: "a META entry") else { continue }
                    var key: UInt8?
                    if let keyNode = entry.value("key", required: true, example: "0xa"), let text = walker.string(keyNode, entry.path("key")) {
                        key = text.hasPrefix("0x") ? UInt8(text.dropFirst(2), radix: 16) : UInt8(text)
                        if key == nil { walker.error(keyNode, entry.path("key"), "\"\(text)\" is not a META key", hint: "a number 0-255, e.g. 0xa") }
                    }
                    let value = entry.value("value", required: true).flatMap { $0.scalar?.string }
                    if let key, let value { result.meta.append(.init(key: key, value: value)) }
                }
            }
            if let extNode = custom.value("systemExtensions"),
                let ext = walker.map(extNode, custom.path("systemExtensions"), keys: ["officialExtensions"], what: "systemExtensions")
            {
                let names = ext.strings("officialExtensions", of: "extension names") ?? []
                for (offset, name) in names.enumerated()
                where name.range(of: "^[a-z0-9-]+/[a-z0-9._-]+$", options: .regularExpression) == nil {
                    walker.error(at: "\(ext.path("officialExtensions"))[\(offset)]", "\"\(name)\" is not an extension name",
                        hint: "official extensions are named like siderolabs/qemu-guest-agent")
                }
                result.officialExtensions = names
            }
            if let sbNode = custom.value("secureboot"),
                let sb = walker.map(sbNode, custom.path("secureboot"), keys: ["includeWellKnownCertificates"], what: "secureboot")
            {
                result.secureBootIncludeWellKnownCertificates = sb.bool("includeWellKnownCertificates") ?? false
            }
        }
        return result
    }
}
