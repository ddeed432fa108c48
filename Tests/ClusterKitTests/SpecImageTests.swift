import ClusterKit
import Testing

@Suite("Spec: image definitions and schematic ids")
struct SpecImageTests {
    /// Test vectors from siderolabs/image-factory pkg/schematic/schematic_test.go (TestUnmarshalID):
    /// the schematic as written, and the id Image Factory assigns it.
    static let vectors: [(String, String)] = [
        ("schematic: {}", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"),
        ("schematic: {customization: {}}", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"),
        ("schematic: {customization: {extraKernelArgs: []}}", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"),
        ("schematic: {customization: {extraKernelArgs: [noapic, nolapic]}}", "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c"),
        ("schematic: {customization: {extraKernelArgs: [noapic, nolapic], systemExtensions: {}}}", "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c"),
        ("schematic: {customization: {meta: [{key: 10, value: foo}], extraKernelArgs: [], systemExtensions: {}}}", "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f"),
        ("schematic: {overlay: {name: rpi_generic, image: siderolabs/sbc-raspberrypi}}", "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9"),
        ("schematic: {overlay: {name: rpi_generic, image: siderolabs/sbc-raspberrypi}, customization: {}}", "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9"),
        ("schematic: {customization: {secureboot: {includeWellKnownCertificates: true}}}", "fa8e05f142a851d3ee568eb0a8e5841eaf6b0ebc8df9a63df16ac5ed2c04f3e6"),
    ]

    @Test("schematic ids match Image Factory's test vectors", arguments: vectors)
    func schematicID(_ vector: (String, String)) throws {
        let image = try ImageDefinition.load(yaml: "architecture: amd64\n" + vector.0, file: "images/t.yaml", name: "t")
        #expect(image.schematicID == vector.1)
    }

    @Test("canonical YAML quotes what yaml.v3 quotes")
    func canonicalQuoting() {
        let schematic = Schematic(extraKernelArgs: ["console=ttyS0", "yes", "1"], meta: [.init(key: 10, value: "{}")])
        #expect(schematic.canonicalYAML == """
            customization:
                extraKernelArgs:
                    - console=ttyS0
                    - "yes"
                    - "1"
                meta:
                    - key: 10
                      value: '{}'

            """)
    }

    @Test("the repository's images load")
    func repositoryImages() throws {
        let images = SpecFixtures.repositoryRoot + "/images"
        let home = try ImageDefinition.load(name: "default", imagesDirectory: images)
        #expect(home.architecture == "amd64")
        #expect(home.schematic.officialExtensions == ["siderolabs/qemu-guest-agent"])
        #expect(home.schematic.extraKernelArgs == ["net.ifnames=0"])
        #expect(home.schematicID.count == 64)
        #expect(home.installerImage(talosVersion: SemanticVersion(major: 1, minor: 13, patch: 9)) == "factory.talos.dev/installer/\(home.schematicID):v1.13.9")
        let lab = try ImageDefinition.load(name: "lab", imagesDirectory: images)
        #expect(lab.schematicID != home.schematicID)
    }

    @Test("image definitions are strict too")
    func strictImages() throws {
        let text = "architecture: x86\nschematic:\n  customization:\n    systemExtension: {officialExtensions: [siderolabs/qemu-guest-agent]}\n"
        let error = try #require(throws: SpecError.self) { try ImageDefinition.load(yaml: text, file: "images/t.yaml", name: "t") }
        #expect(error.errors.map(\.position) == ["1:15", "4:5"])
        #expect(error.errors.first?.hint?.contains("amd64, arm64") == true)
        #expect(error.errors.last?.hint?.contains(#"did you mean "systemExtensions"?"#) == true)
    }
}
