internal import Crypto
internal import Foundation

/// A Talos Image Factory schematic: the customizations baked into a Talos image.
///
/// Image Factory identifies a schematic by the SHA-256 (lowercase hex) of its canonical YAML,
/// which is what Go's gopkg.in/yaml.v3 `Marshal` writes for its `Schematic` struct: fields in
/// declaration order (`overlay`, then `customization` with `extraKernelArgs`, `meta`,
/// `systemExtensions.officialExtensions`, `secureboot`), empty optional fields omitted, four-space
/// indentation (siderolabs/image-factory `pkg/schematic/schematic.go`, `Schematic.ID`; its test
/// vectors, e.g. the empty schematic `376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba`,
/// are checked in our tests).
public struct Schematic: Sendable, Hashable {
    /// An initial Talos META entry (`key` is a META key, 0-255).
    public struct MetaValue: Sendable, Hashable {
        public var key: UInt8
        public var value: String

        public init(key: UInt8, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// A board overlay (single-board computers); `image` and `name` as Image Factory lists them.
    public struct Overlay: Sendable, Hashable {
        public var image: String
        public var name: String

        public init(image: String, name: String) {
            self.image = image
            self.name = name
        }
    }

    public var extraKernelArgs: [String]
    public var meta: [MetaValue]
    /// Official system extensions, e.g. `siderolabs/qemu-guest-agent`.
    public var officialExtensions: [String]
    public var secureBootIncludeWellKnownCertificates: Bool
    public var overlay: Overlay?

    public init(
        extraKernelArgs: [String] = [], meta: [MetaValue] = [], officialExtensions: [String] = [],
        secureBootIncludeWellKnownCertificates: Bool = false, overlay: Overlay? = nil
    ) {
        self.extraKernelArgs = extraKernelArgs
        self.meta = meta
        self.officialExtensions = officialExtensions
        self.secureBootIncludeWellKnownCertificates = secureBootIncludeWellKnownCertificates
        self.overlay = overlay
    }

    /// The schematic ID Image Factory assigns: SHA-256 hex of ``canonicalYAML``.
    public var id: String {
        SHA256.hash(data: Array(canonicalYAML.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The schematic as yaml.v3 marshals it; also the body to POST to `/schematics`.
    public var canonicalYAML: String {
        var lines: [String] = []
        if let overlay {
            lines.append("overlay:")
            lines.append("    image: \(Schematic.scalar(overlay.image))")
            lines.append("    name: \(Schematic.scalar(overlay.name))")
        }
        var body: [String] = []
        if !extraKernelArgs.isEmpty {
            body.append("    extraKernelArgs:")
            body += extraKernelArgs.map { "        - \(Schematic.scalar($0))" }
        }
        if !meta.isEmpty {
            body.append("    meta:")
            for entry in meta {
                body.append("        - key: \(entry.key)")
                body.append("          value: \(Schematic.scalar(entry.value))")
            }
        }
        if !officialExtensions.isEmpty {
            body.append("    systemExtensions:")
            body.append("        officialExtensions:")
            body += officialExtensions.map { "            - \(Schematic.scalar($0))" }
        }
        if secureBootIncludeWellKnownCertificates {
            body.append("    secureboot:")
            body.append("        includeWellKnownCertificates: true")
        }
        if body.isEmpty {
            lines.append("customization: {}")
        } else {
            lines.append("customization:")
            lines += body
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A single-line string as yaml.v3 writes it: double-quoted when plain text would read back
    /// as another type (numbers, booleans including YAML 1.1's yes/no/on/off, null, base-60),
    /// single-quoted when libyaml's emitter cannot write it plain, plain otherwise.
    static func scalar(_ text: String) -> String {
        if resolvesToNonString(text) {
            return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        if canBePlain(text) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func resolvesToNonString(_ text: String) -> Bool {
        let words: Set<String> = [
            "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
            "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
            ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
        ]
        if words.contains(text) { return true }
        let patterns = [
            "^[-+]?[0-9][0-9_]*$", "^[-+]?0[xX][0-9a-fA-F_]+$", "^[-+]?0[oO][0-7_]+$", "^[-+]?0[bB][01_]+$",
            "^[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+]?[0-9]+)?$", "^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$",
            "^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?$",
        ]
        return patterns.contains { text.range(of: $0, options: .regularExpression) != nil && text != "." }
    }

    static func canBePlain(_ text: String) -> Bool {
        guard let first = text.first, let last = text.last, first != " ", last != " " else { return false }
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else { return false }
        if "#,[]{}&*!|>'\"%@`".contains(first) { return false }
        if "-?:".contains(first) && (text.count == 1 || text.dropFirst().first == " ") { return false }
        if text.contains(": ") || text.contains(" #") || last == ":" { return false }
        return true
    }
}
