import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

@Suite struct EphemeralSSHKeyTests {
    /// ssh-keygen, OpenSSH's own tool, reads the private key and derives the same public key.
    @Test func opensshReadsThePrivateKeyAndAgreesOnThePublicKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ephemeral-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try EphemeralSSHKey(directory: directory, comment: "clusterctl-image-test")
        let mode = try FileManager.default.attributesOfItem(atPath: key.privateKeyFile.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let derived = try TalosTestSupport.run("ssh-keygen", ["-y", "-f", key.privateKeyFile.path])
        #expect(derived.status == 0, "\(derived.error)")
        let expected = key.publicKeyLine.split(separator: " ").prefix(2).joined(separator: " ")
        #expect(derived.output.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix(expected))
        let fingerprint = try TalosTestSupport.run("ssh-keygen", ["-l", "-f", key.privateKeyFile.path])
        #expect(fingerprint.output.contains("ED25519"), "\(fingerprint.output)")
        key.remove()
        #expect(!FileManager.default.fileExists(atPath: key.privateKeyFile.path))
    }
}
