import ClusterKit
import Foundation
import Testing

@Suite struct SecretScrubberTests {
    @Test func everyRegisteredSecretIsReplacedLongestFirst() {
        let scrubber = SecretScrubber()
        scrubber.register("hcloud-token-123456")
        scrubber.register("token-123456")
        scrubber.register("abc")
        let text = "401: token hcloud-token-123456 rejected; also token-123456; abc stays"
        #expect(scrubber.scrub(text) == "401: token <redacted> rejected; also <redacted>; abc stays")
    }

    @Test func aLooseSecretFileIsRefusedWithTheChmodAndATightOneIsRegistered() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scrubber-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("token")
        try SecureFile.write("proxmox-secret-value-42\n", to: file, mode: 0o644)
        #expect(throws: ClusterError.self) { try SecureFile.readPrivate(file, what: "the token file") }
        do {
            _ = try SecureFile.readPrivate(file, what: "the token file")
        } catch {
            #expect(error.message.contains("mode 644") && error.hint == "run `chmod 600 \(file.path)` (and check who may have read it)")
        }
        try SecureFile.write("proxmox-secret-value-42\n", to: file)
        #expect(try SecureFile.readPrivate(file, what: "the token file") == "proxmox-secret-value-42\n")
        #expect(SecretScrubber.shared.scrub("echo proxmox-secret-value-42") == "echo <redacted>")
    }
}
