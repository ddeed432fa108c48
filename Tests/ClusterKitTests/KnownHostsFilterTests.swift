import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// Only the Git host's known_hosts lines go to ssh and into the cluster's Secret.
struct KnownHostsFilterTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

    @Test func plainBracketedAndMarkedLinesAreSelected() {
        let text = """
            # a comment naming github.com
            github.com,140.82.121.4 \(Self.key)
            gitlab.com \(Self.key)
            [git.example.org]:2222 \(Self.key)
            git.example.org \(Self.key)
            @cert-authority *.example.org \(Self.key)
            GitHub.com ecdsa-sha2-nistp256 AAAAE2VjZHNh
            *.example.org,!git.example.org ssh-rsa AAAAB3NzaC1yc2E
            """
        #expect(KnownHostsFilter.lines(for: "github.com", port: 22, in: text) == [
            "github.com,140.82.121.4 \(Self.key)", "GitHub.com ecdsa-sha2-nistp256 AAAAE2VjZHNh",
        ])
        // Off port 22 ssh looks up "[host]:port", which `*.example.org` does not match.
        #expect(KnownHostsFilter.lines(for: "git.example.org", port: 2222, in: text) == ["[git.example.org]:2222 \(Self.key)"])
        #expect(KnownHostsFilter.lines(for: "bitbucket.org", port: 22, in: text).isEmpty)
        #expect(KnownHostsFilter.lines(for: "git.example.org", port: 22, in: text) == [
            "git.example.org \(Self.key)", "@cert-authority *.example.org \(Self.key)",
        ])
        #expect(KnownHostsFilter.lines(for: "ci.example.org", port: 22, in: text) == [
            "@cert-authority *.example.org \(Self.key)", "*.example.org,!git.example.org ssh-rsa AAAAB3NzaC1yc2E",
        ])
    }

    @Test func hashedNamesAreMatchedAsSSHDoes() throws {
        guard FileManager.default.isExecutableFile(atPath: SSHTestServer.keygenPath) else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("known-hosts-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("known_hosts")
        try "github.com \(Self.key)\n[git.example.org]:2222 \(Self.key)\ngitlab.com \(Self.key)\n".write(to: file, atomically: true, encoding: .utf8)
        // ssh-keygen -H hashes every name in place, as HashKnownHosts does.
        try ChildProcess.run(SSHTestServer.keygenPath, ["-H", "-f", file.path])
        let hashed = try String(contentsOf: file, encoding: .utf8)
        #expect(!hashed.contains("github.com"))
        let github = KnownHostsFilter.lines(for: "github.com", port: 22, in: hashed)
        #expect(github.count == 1 && github[0].hasPrefix("|1|"))
        #expect(KnownHostsFilter.lines(for: "git.example.org", port: 2222, in: hashed).count == 1)
        #expect(KnownHostsFilter.lines(for: "git.example.org", port: 22, in: hashed).isEmpty)
        #expect(KnownHostsFilter.lines(for: "bitbucket.org", port: 22, in: hashed).isEmpty)
    }
}
