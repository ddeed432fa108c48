public import Foundation
public import Provisioners

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real OpenSSH server (`/usr/sbin/sshd -D`) on a loopback high port, with its own host key,
/// authorized keys and config in a temporary directory. Logs in as the user running the tests.
public final class SSHTestServer: @unchecked Sendable {
    public static let sshdPath = "/usr/sbin/sshd"
    public static let keygenPath = "/usr/bin/ssh-keygen"

    /// Why the server cannot start here, or nil when it can.
    public static var unavailableReason: String? {
        for path in [sshdPath, keygenPath] where !FileManager.default.isExecutableFile(atPath: path) {
            return "\(path) is missing (install openssh-server; .ci/setup.d/home.sh does)"
        }
        return nil
    }

    /// Tests needing sshd run when it is there, and always in CI, where a missing sshd must fail loudly.
    public static var shouldRun: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    public let directory: URL
    public let port: Int
    public let user: String
    public let hostKeyFile: URL
    /// A client key the server accepts (ed25519).
    public let clientKeyFile: URL
    private let process: ChildProcess

    /// Generates keys, writes the config and starts sshd; returns once it answers with its banner.
    public init(authorizedKeyTypes: [String] = ["ed25519"]) throws {
        if let reason = Self.unavailableReason { throw TestSupportError(reason) }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clusterctl-sshd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        user = Self.currentUser()
        hostKeyFile = directory.appendingPathComponent("host_ed25519")
        try Self.generateKey(type: "ed25519", at: hostKeyFile)
        clientKeyFile = directory.appendingPathComponent("client_ed25519")
        try Self.generateKey(type: "ed25519", at: clientKeyFile)
        try Self.authorize(publicKeyOf: clientKeyFile, in: directory)
        port = try Self.freePort()
        let home = directory.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKeyFile.path)
            PidFile none
            AuthorizedKeysFile \(directory.appendingPathComponent("authorized_keys").path)
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            Subsystem sftp internal-sftp
            # libssh2 1.10 (Debian 12) signs RSA user keys only with SHA-1 (ssh-rsa), which
            # OpenSSH 8.8+ refuses unless allowed; rsa-sha2 user auth arrived in libssh2 1.11.
            PubkeyAcceptedAlgorithms +ssh-rsa
            # sshd runs each command as `$SHELL -c`, and Debian's bash then reads ~/.bashrc even
            # though it is not interactive. The tests log in as the user running them (root in
            # CI), whose rc files are not ours: a `pyenv init` there left a lock behind when a test
            # killed a session, and every later command waited 60 s on it. An empty home of our
            # own makes sessions the same on every machine.
            SetEnv HOME=\(home.path)
            LogLevel ERROR

            """
        let configFile = directory.appendingPathComponent("sshd_config")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        process = try ChildProcess.spawn(
            Self.sshdPath, ["-D", "-e", "-f", configFile.path],
            outputFile: directory.appendingPathComponent("sshd.log").path)
        try waitForBanner()
    }

    deinit { stop() }

    /// Stops sshd and every session process it forked, and removes the directory.
    public func stop() {
        dropConnections()
        if process.isRunning {
            process.signal(SIGKILL)
            process.wait()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Kills the per-connection processes sshd forked (and their children), as a dropped link
    /// would; the listener stays up, so clients can reconnect.
    public func dropConnections() {
        for pid in Self.descendants(of: process.pid) { kill(pid, SIGKILL) }
    }

    /// Authorizes another key (generated here) and returns its private key file.
    public func addClientKey(type: String, passphrase: String? = nil, authorize: Bool = true) throws -> URL {
        let file = directory.appendingPathComponent("client_\(type)_\(UUID().uuidString.prefix(6))")
        try Self.generateKey(type: type, passphrase: passphrase, at: file)
        if authorize { try Self.authorize(publicKeyOf: file, in: directory) }
        return file
    }

    /// Appends a raw authorized_keys line (options allowed, e.g. `command="..."` to force a command).
    public func authorize(line: String) throws {
        let file = directory.appendingPathComponent("authorized_keys")
        let existing = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        try (existing + line + "\n").write(to: file, atomically: true, encoding: .utf8)
    }

    /// A known_hosts line for this server's real host key.
    public func knownHostsLine() throws -> String {
        let key = try String(contentsOf: hostKeyFile.appendingPathExtension("pub"), encoding: .utf8)
        let parts = key.split(separator: " ")
        return "[127.0.0.1]:\(port) \(parts[0]) \(parts[1])\n"
    }

    /// The host key's fingerprint as `ssh-keygen -l` prints it (`SHA256:...`).
    public func hostKeyFingerprint() throws -> String {
        let output = try Self.runTool(Self.keygenPath, ["-l", "-f", hostKeyFile.appendingPathExtension("pub").path])
        return String(output.split(separator: " ")[1])
    }

    /// A known_hosts file in the server's directory holding `content`.
    public func writeKnownHosts(_ content: String, name: String = "known_hosts") throws -> String {
        let file = directory.appendingPathComponent(name)
        try content.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// Client settings for this server.
    public func configuration(
        key: URL? = nil, knownHostsFile: String, policy: SSHConfiguration.UnknownHostKeyPolicy = .refuse,
        operationTimeout: Duration? = .seconds(60)
    ) -> SSHConfiguration {
        SSHConfiguration(
            host: "127.0.0.1", port: port, user: user, privateKeyFile: (key ?? clientKeyFile).path,
            knownHostsFile: knownHostsFile, unknownHostKeyPolicy: policy, connectTimeout: .seconds(15),
            operationTimeout: operationTimeout, keepaliveInterval: .seconds(5))
    }

    /// A client that trusts this server's real host key and logs in with the default client key.
    public func client() throws -> SSHClient {
        SSHClient(configuration(knownHostsFile: try writeKnownHosts(try knownHostsLine(), name: "known_hosts_trusted")))
    }

    // MARK: helpers

    public static func generateKey(type: String, passphrase: String? = nil, at file: URL) throws {
        var arguments = ["-q", "-t", type, "-N", passphrase ?? "", "-C", "clusterctl-test", "-f", file.path]
        if type == "rsa" { arguments += ["-b", "3072"] }
        _ = try runTool(keygenPath, arguments)
    }

    private static func authorize(publicKeyOf key: URL, in directory: URL) throws {
        let line = try String(contentsOf: key.appendingPathExtension("pub"), encoding: .utf8)
        let file = directory.appendingPathComponent("authorized_keys")
        let existing = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        try (existing + line).write(to: file, atomically: true, encoding: .utf8)
    }

    @discardableResult
    public static func runTool(_ path: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run(path, arguments)
    }

    private static func currentUser() -> String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "root"
    }

    private static func descendants(of pid: Int32) -> [Int32] {
        guard let output = try? runTool("/usr/bin/pgrep", ["-P", String(pid)]) else { return [] }
        let children = output.split(whereSeparator: \.isNewline).compactMap { Int32($0) }
        return children.flatMap { descendants(of: $0) + [$0] }
    }

    /// A port the kernel hands out for loopback right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestSupportError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func waitForBanner() throws {
        for _ in 0..<100 {
            if !process.isRunning {
                let log = (try? String(contentsOf: directory.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? ""
                throw TestSupportError("sshd exited at start: \(log)")
            }
            if Self.readsBanner(port: port) { return }
            usleep(100_000)
        }
        throw TestSupportError("sshd did not answer on port \(port) within 10 s")
    }

    private static func readsBanner(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        return count > 4 && String(decoding: buffer[0..<count], as: UTF8.self).hasPrefix("SSH-")
    }
}
