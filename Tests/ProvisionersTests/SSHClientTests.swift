import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The SSH transport against a real OpenSSH server on loopback (see SSHTestServer).
@Suite(.serialized, .enabled(if: SSHTestServer.shouldRun, "sshd missing: \(SSHTestServer.unavailableReason ?? "")"))
struct SSHClientTests {
    @Test func execReturnsOutputStatusAndQuotedArguments() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let client = try server.client()
        let fingerprint = try await client.connect()
        #expect(fingerprint == (try server.hostKeyFingerprint()))

        let tricky = "it's a \"name\" with $HOME; `x`"
        let echoed = try await client.run(RemoteCommand("printf", "%s|", "a b", tricky), stdin: nil)
        #expect(echoed.exitStatus == 0)
        #expect(echoed.stdoutText == "a b|\(tricky)|")

        let failing = try await client.run(RemoteCommand("sh", "-c", "echo out; echo err >&2; exit 3"), stdin: nil)
        #expect(failing.exitStatus == 3)
        #expect(failing.stdoutText == "out\n")
        #expect(failing.stderrText == "err\n")

        // Large stdin and large stdout at once: interleaved I/O must not deadlock on window sizes.
        let input = (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let echoedBack = try await client.run(RemoteCommand("cat"), stdin: input)
        #expect(echoedBack.exitStatus == 0)
        #expect(echoedBack.stdout == input)
        await client.disconnect()

        // A disconnected client reconnects on the next call.
        let again = try await client.run(RemoteCommand("true"), stdin: nil)
        #expect(again.exitStatus == 0)
    }

    @Test(arguments: ["ed25519", "ecdsa", "rsa"])
    func authenticatesWithEachKeyType(type: String) async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let key = try server.addClientKey(type: type)
        let knownHosts = try server.writeKnownHosts(try server.knownHostsLine())
        let client = SSHClient(server.configuration(key: key, knownHostsFile: knownHosts))
        let result = try await client.run(RemoteCommand("id", "-un"), stdin: nil)
        #expect(result.stdoutText == server.user + "\n")
    }

    @Test func passphraseComesFromEnvironment() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let key = try server.addClientKey(type: "ed25519", passphrase: "correct horse")
        let knownHosts = try server.writeKnownHosts(try server.knownHostsLine())
        let variable = "CLUSTERCTL_TEST_SSH_PASSPHRASE_\(server.port)"
        var configuration = server.configuration(key: key, knownHostsFile: knownHosts)
        configuration.passphrase = .environment(variable)

        let unset = await #expect(throws: SSHError.self) { try await SSHClient(configuration).connect() }
        #expect(unset?.code == .keyFile)
        #expect(unset?.message.contains(variable) == true)

        setenv(variable, "wrong", 1)
        let wrong = await #expect(throws: SSHError.self) { try await SSHClient(configuration).connect() }
        #expect(wrong?.code == .keyFile)

        setenv(variable, "correct horse", 1)
        defer { unsetenv(variable) }
        let result = try await SSHClient(configuration).run(RemoteCommand("echo", "ok"), stdin: nil)
        #expect(result.stdoutText == "ok\n")
    }

    @Test func uploadReplacesFileAtomicallyWithMode() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let client = try server.client()
        let target = server.directory.appendingPathComponent("sub dir/uploaded file").path
        _ = try await client.run(RemoteCommand("mkdir", "-p", (target as NSString).deletingLastPathComponent), stdin: nil)
        try await client.upload(Array("first version, longer\n".utf8), to: target, mode: 0o640)
        let payload = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        try await client.upload(payload, to: target, mode: 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(payload))
        let mode = try await client.run(RemoteCommand("stat", "-c", "%a", target), stdin: nil)
        #expect(mode.stdoutText == "600\n")
        let leftovers = try await client.run(
            RemoteCommand("sh", "-c", "ls -A \"$1\" | wc -l", "sh", (target as NSString).deletingLastPathComponent),
            stdin: nil)
        #expect(leftovers.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "1")

        // Streaming from a local file.
        let local = server.directory.appendingPathComponent("local.bin")
        try Data(payload.reversed()).write(to: local)
        try await client.uploadFile(at: local.path, to: target, mode: 0o644)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(payload.reversed()))
    }

    @Test func unknownHostKeyIsRefusedWithFingerprintUnlessTrusted() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let knownHosts = server.directory.appendingPathComponent("empty/known_hosts").path
        let fingerprint = try server.hostKeyFingerprint()
        let refused = await #expect(throws: SSHError.self) {
            try await SSHClient(server.configuration(knownHostsFile: knownHosts)).connect()
        }
        #expect(refused?.code == .hostKeyUnknown)
        #expect(refused?.message.contains(fingerprint) == true)
        #expect(refused?.hint?.contains("ssh-keyscan -p \(server.port) 127.0.0.1 >> \(knownHosts)") == true)
        #expect(!FileManager.default.fileExists(atPath: knownHosts))

        // Trust on first use, only when asked: the key is appended, and a strict client then connects.
        _ = try await SSHClient(server.configuration(knownHostsFile: knownHosts, policy: .trustAndRemember)).connect()
        let written = try String(contentsOfFile: knownHosts, encoding: .utf8)
        #expect(written.hasPrefix("[127.0.0.1]:\(server.port) ssh-ed25519 "))
        let strict = try await SSHClient(server.configuration(knownHostsFile: knownHosts)).run(
            RemoteCommand("true"), stdin: nil)
        #expect(strict.exitStatus == 0)
    }

    @Test func changedHostKeyIsRefused() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let other = server.directory.appendingPathComponent("other_host_key")
        try SSHTestServer.generateKey(type: "ed25519", at: other)
        let otherKey = try String(contentsOf: other.appendingPathExtension("pub"), encoding: .utf8).split(separator: " ")
        let knownHosts = try server.writeKnownHosts("[127.0.0.1]:\(server.port) \(otherKey[0]) \(otherKey[1])\n")
        // Even trust-on-first-use never overrides a changed key.
        let refused = await #expect(throws: SSHError.self) {
            try await SSHClient(server.configuration(knownHostsFile: knownHosts, policy: .trustAndRemember)).connect()
        }
        #expect(refused?.code == .hostKeyChanged)
        #expect(refused?.message.contains(try server.hostKeyFingerprint()) == true)
        #expect(refused?.hint?.contains("ssh-keygen -R") == true)
    }

    @Test func unauthorizedUserKeyIsRefusedClearly() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let stranger = try server.addClientKey(type: "ed25519", authorize: false)
        let knownHosts = try server.writeKnownHosts(try server.knownHostsLine())
        let refused = await #expect(throws: SSHError.self) {
            try await SSHClient(server.configuration(key: stranger, knownHostsFile: knownHosts)).connect()
        }
        #expect(refused?.code == .authentication)
        #expect(refused?.message.contains("refused") == true)
        #expect(refused?.message.contains(stranger.path) == true)
        #expect(refused?.hint?.contains("authorized_keys") == true)
        #expect(refused?.isTransient == false)
    }

    @Test func droppedConnectionGivesClearErrorThenReconnects() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let client = try server.client()
        _ = try await client.connect()
        // The command's own limit is far beyond the drop: a drop that went unnoticed would end
        // as a timeout, not as a disconnection.
        let long = Task { try await client.run(RemoteCommand("sleep", "600"), stdin: nil, timeout: .seconds(120)) }
        try await Task.sleep(for: .seconds(1))
        server.dropConnections()
        let dropped = await #expect(throws: SSHError.self) { _ = try await long.value }
        #expect(dropped?.code == .disconnected)
        #expect(dropped?.message.contains("dropped") == true)
        #expect(dropped?.isTransient == true)
        let after = try await client.run(RemoteCommand("echo", "back"), stdin: nil)
        #expect(after.stdoutText == "back\n")
    }

    @Test func connectingToClosedPortFailsWithConnectError() async throws {
        let server = try SSHTestServer()
        let configuration = server.configuration(knownHostsFile: "/nonexistent")
        server.stop()
        let refused = await #expect(throws: SSHError.self) { try await SSHClient(configuration).connect() }
        #expect(refused?.code == .connect)
        #expect(refused?.message.contains("port \(configuration.port)") == true)
    }

    @Test func shortCommandsDoNotStallOnTheSocket() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let client = try server.client()
        _ = try await client.connect()
        let before = try await client.idleSocketWaits()
        for index in 0..<20 {
            let result = try await client.run(RemoteCommand("echo", String(index)), stdin: nil)
            #expect(result.stdoutText == "\(index)\n")
        }
        // Counted, not timed: the stall this guards against waited out a one-second poll slice
        // after EOF in every command (20 idle waits); a loaded machine may add one or two.
        let idle = try await client.idleSocketWaits() - before
        #expect(idle < 5, "20 short commands waited out \(idle) idle socket slices")
    }

    @Test func commandTimeoutIsEnforced() async throws {
        let server = try SSHTestServer()
        defer { server.stop() }
        let client = try server.client()
        let timedOut = await #expect(throws: SSHError.self) {
            _ = try await client.run(RemoteCommand("sleep", "20"), stdin: nil, timeout: .seconds(1))
        }
        #expect(timedOut?.code == .timeout)
    }
}
