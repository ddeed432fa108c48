import CLibSSH2
import ClusterKit
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One authenticated SSH connection: handshake, host key check, key authentication, then exec
/// channels and SFTP uploads over it. Only the owning ``SSHClient``'s serial queue touches it.
final class SSHConnection {
    let configuration: SSHConfiguration
    let session: SSHSessionHandle
    /// The server's host key fingerprint, `SHA256:<base64>` as ssh-keygen(1) prints it.
    private(set) var hostKeyFingerprint = ""

    init(configuration: SSHConfiguration) throws {
        self.configuration = configuration
        let deadline = ContinuousClock.now + configuration.connectTimeout
        let label = "\(configuration.user)@\(configuration.host):\(configuration.port)"
        let fd = try Self.connectSocket(host: configuration.host, port: configuration.port, deadline: deadline)
        session = try SSHSessionHandle(socket: fd, label: label)
        let raw = session.raw
        try session.call("SSH handshake", .handshake, deadline: deadline) { libssh2_session_handshake(raw, fd) }
        try verifyHostKey()
        try authenticate(deadline: deadline)
        if let interval = configuration.keepaliveInterval {
            libssh2_keepalive_config(raw, 1, UInt32(max(1, interval.components.seconds)))
            session.keepaliveEnabled = true
        }
    }

    /// Sends `SSH_MSG_DISCONNECT`, best effort; the handles free the rest.
    func disconnect() {
        let raw = session.raw
        _ = try? session.retry("disconnect", deadline: ContinuousClock.now + .seconds(2), {
            libssh2_session_disconnect_ex(raw, SSH_DISCONNECT_BY_APPLICATION, "clusterctl closing", "")
        }, again: { $0 == LIBSSH2_ERROR_EAGAIN })
    }

    /// Sends a keepalive if one is due; throws when the connection is gone.
    func sendKeepalive() throws {
        var secondsToNext: Int32 = 0
        try session.check(libssh2_keepalive_send(session.raw, &secondsToNext), .disconnected, "keepalive")
    }

    // MARK: host key

    private func verifyHostKey() throws {
        var keyLength = 0
        var keyType: Int32 = 0
        guard let key = libssh2_session_hostkey(session.raw, &keyLength, &keyType) else {
            throw session.error(libssh2_session_last_errno(session.raw), .handshake, "reading the server's host key")
        }
        let keyName = Self.keyTypeName(keyType)
        if let hash = libssh2_hostkey_hash(session.raw, clusterctl_ssh2_hostkey_hash_sha256) {
            let digest = hash.withMemoryRebound(to: UInt8.self, capacity: 32) { Data(bytes: $0, count: 32) }
            hostKeyFingerprint = "SHA256:" + digest.base64EncodedString().replacingOccurrences(of: "=", with: "")
        }
        let typeMask = clusterctl_ssh2_knownhost_typemask(keyType)
        guard typeMask != 0 else {
            throw SSHError(.handshake, "\(session.label) offered a host key of unsupported type \(keyType)")
        }
        let knownHosts = try SSHKnownHostsHandle(session: session)
        let path = configuration.knownHostsFile
        if FileManager.default.fileExists(atPath: path) {
            let rc = libssh2_knownhost_readfile(knownHosts.raw, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
            try session.check(
                rc, .knownHosts, "reading known_hosts file \(path)",
                hint: "check that \(path) is readable and in OpenSSH known_hosts format")
        }
        var match: UnsafeMutablePointer<libssh2_knownhost>?
        let result = libssh2_knownhost_checkp(
            knownHosts.raw, configuration.host, Int32(configuration.port), key, keyLength, typeMask, &match)
        let name = configuration.knownHostsName
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            throw SSHError(
                .hostKeyChanged,
                "the host key of \(name) has CHANGED: it now offers \(keyName) \(hostKeyFingerprint), "
                    + "which does not match \(path); refusing to connect (this can be an attack)",
                hint: "if the host was reinstalled and you have checked the new fingerprint on its console "
                    + "(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), remove the old entry with "
                    + "`ssh-keygen -R '\(name)' -f \(path)` and accept the new key")
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            switch configuration.unknownHostKeyPolicy {
            case .refuse:
                throw SSHError(
                    .hostKeyUnknown,
                    "the host key of \(name) is not known: it offers \(keyName) \(hostKeyFingerprint), "
                        + "which \(path) does not hold; refusing to connect",
                    hint: "compare the fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub "
                        + "on its console), then accept it with `ssh-keyscan -p \(configuration.port) "
                        + "\(configuration.host) >> \(path)` or run again with --trust-new-host-key")
            case .trustAndRemember:
                try remember(key: key, length: keyLength, typeMask: typeMask)
            }
        default:
            throw session.error(result, .knownHosts, "checking the host key of \(name) against \(path)")
        }
    }

    /// Appends the host's key to known_hosts as one OpenSSH line (trust on first use).
    private func remember(key: UnsafePointer<CChar>, length: Int, typeMask: Int32) throws {
        let fresh = try SSHKnownHostsHandle(session: session)
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let comment = "added by clusterctl"
        try session.check(
            libssh2_knownhost_addc(
                fresh.raw, configuration.knownHostsName, nil, key, length, comment, comment.utf8.count, typeMask, &entry),
            .knownHosts, "adding the host key of \(configuration.knownHostsName)")
        var buffer = [CChar](repeating: 0, count: 16384)
        var written = 0
        try session.check(
            libssh2_knownhost_writeline(fresh.raw, entry, &buffer, buffer.count, &written, LIBSSH2_KNOWNHOST_FILE_OPENSSH),
            .knownHosts, "formatting the known_hosts line for \(configuration.knownHostsName)")
        var line = buffer[0..<written].map { UInt8(bitPattern: $0) }
        if line.last != UInt8(ascii: "\n") { line.append(UInt8(ascii: "\n")) }
        try Self.append(line, toKnownHosts: configuration.knownHostsFile)
    }

    private static func append(_ line: [UInt8], toKnownHosts path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SSHError(.knownHosts, "cannot open \(path) to add the host key: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // Start on a fresh line when the file does not end with one.
        var needsNewline = false
        if lseek(fd, 0, SEEK_END) > 0 {
            let reader = open(path, O_RDONLY | O_CLOEXEC)
            if reader >= 0 {
                var last: UInt8 = 0
                if lseek(reader, -1, SEEK_END) >= 0, read(reader, &last, 1) == 1 { needsNewline = last != UInt8(ascii: "\n") }
                close(reader)
            }
        }
        let bytes = (needsNewline ? [UInt8(ascii: "\n")] : []) + line
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard count == bytes.count, fsync(fd) == 0 else {
            throw SSHError(.knownHosts, "cannot write the host key to \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func keyTypeName(_ type: Int32) -> String {
        switch type {
        case LIBSSH2_HOSTKEY_TYPE_RSA: "ssh-rsa"
        case LIBSSH2_HOSTKEY_TYPE_DSS: "ssh-dss"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: "ecdsa-sha2-nistp256"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: "ecdsa-sha2-nistp384"
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ecdsa-sha2-nistp521"
        case LIBSSH2_HOSTKEY_TYPE_ED25519: "ssh-ed25519"
        default: "key type \(type)"
        }
    }

    // MARK: authentication

    private func authenticate(deadline: ContinuousClock.Instant) throws {
        let keyFile = configuration.privateKeyFile
        guard FileManager.default.isReadableFile(atPath: keyFile) else {
            throw SSHError(
                .keyFile, "cannot read the SSH private key \(keyFile)",
                hint: "check the keyFile path in the provider's ssh settings and its permissions")
        }
        let passphrase = try resolvePassphrase()
        let user = configuration.user
        let raw = session.raw
        let rc = try session.retry("public key authentication", deadline: deadline, {
            libssh2_userauth_publickey_fromfile_ex(raw, user, UInt32(user.utf8.count), nil, keyFile, passphrase)
        }, again: { $0 == LIBSSH2_ERROR_EAGAIN })
        switch rc {
        case 0:
            return
        case LIBSSH2_ERROR_FILE:
            throw session.error(
                rc, .keyFile, "loading the private key \(keyFile)",
                hint: configuration.passphrase == nil
                    ? "if the key is encrypted, name its passphrase (passphrase: env VAR) in the ssh settings"
                    : "check the passphrase in \(configuration.passphrase.map { "\($0)" } ?? "") and the key format")
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            throw session.error(
                rc, .authentication,
                "authenticating as \(user) with key \(keyFile) (the server refused the key)",
                hint: "add the public key (ssh-keygen -y -f \(keyFile)) to ~\(user)/.ssh/authorized_keys "
                    + "on \(configuration.host), or check the user name"
                    + (libssh2_version(0x010b00) == nil
                        ? "; this libssh2 signs RSA keys only with SHA-1 (ssh-rsa), which OpenSSH 8.8+ refuses "
                            + "by default: prefer an ed25519 or ecdsa key" : ""))
        default:
            try session.check(rc, .authentication, "authenticating as \(user) with key \(keyFile)")
        }
    }

    private func resolvePassphrase() throws -> String? {
        switch configuration.passphrase {
        case nil:
            return nil
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name] else {
                throw SSHError(
                    .keyFile, "the passphrase for \(configuration.privateKeyFile) is to come from environment "
                        + "variable \(name), which is not set",
                    hint: "export \(name) before running clusterctl")
            }
            SecretScrubber.shared.register(value)
            return value
        case .file(let path):
            let file = URL(fileURLWithPath: NSString(string: path).expandingTildeInPath)
            let text: String
            do { text = try SecureFile.readPrivate(file, what: "the passphrase file") } catch {
                throw SSHError(.keyFile, error.message, hint: error.hint)
            }
            var passphrase = text
            while passphrase.hasSuffix("\n") || passphrase.hasSuffix("\r") { passphrase.removeLast() }
            SecretScrubber.shared.register(passphrase)
            return passphrase
        }
    }
}
