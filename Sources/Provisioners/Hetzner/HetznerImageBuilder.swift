public import ClusterKit
public import Logging

/// Builds the Talos snapshot nodes are cloned from, the way the Talos docs ("Hetzner") and the
/// community do it: a temporary server booted into the rescue system, the Image Factory `hcloud`
/// raw image written to its disk over SSH, power off, snapshot with identifying labels. The
/// temporary server and SSH key are deleted whatever happens. An existing snapshot with the same
/// labels is reused and nothing is built.
public struct HetznerImageBuilder: Sendable {
    /// Opens a shell to the rescue system at this address as root (libssh2 in production).
    public typealias Connect = @Sendable (_ address: String) async throws -> any RemoteShell

    public let client: HetznerClient
    public let waiter: HetznerActionWaiter
    public let location: String
    /// The SSH public key (OpenSSH format) the rescue system accepts; `connect` holds its private half.
    public let sshPublicKey: String
    public let connect: Connect
    public let factoryURL: String
    private let time: any TimeSource
    private let logger: Logger

    public init(
        client: HetznerClient, waiter: HetznerActionWaiter, location: String, sshPublicKey: String, connect: @escaping Connect,
        time: any TimeSource = SystemTimeSource(), factoryURL: String = "https://factory.talos.dev",
        logger: Logger = Logger(label: "clusterctl.hetzner.image")
    ) {
        self.client = client
        self.waiter = waiter
        self.location = location
        self.sshPublicKey = sshPublicKey
        self.connect = connect
        self.time = time
        self.factoryURL = factoryURL
        self.logger = logger
    }

    /// The cheapest shared server type per architecture; the snapshot fits any larger type.
    public static func builderServerType(architecture: String) -> String {
        architecture == "arm64" ? "cax11" : "cx22"
    }

    /// Image Factory download URL of the raw `hcloud` disk image (Talos docs, "Image Factory").
    public func imageURL(_ request: ImageRequest) -> String {
        "\(factoryURL)/image/\(request.schematicID)/\(request.talosVersion)/hcloud-\(request.architecture).raw.xz"
    }

    /// The commands run in the rescue system, in order. Exposed so tests assert them exactly.
    public func commands(_ request: ImageRequest) -> [RemoteCommand] {
        [
            RemoteCommand(
                "bash", "-o", "pipefail", "-c",
                // The URL goes into a script, so it is quoted there too: RemoteCommand quotes
                // only the script as a whole, and the factory URL comes from configuration.
                "curl -fsSL --retry 5 \(RemoteCommand.quote(imageURL(request))) | xz -d | dd of=/dev/sda bs=4M conv=fsync status=none"),
            RemoteCommand("sync"),
        ]
    }

    static func validate(_ request: ImageRequest) throws {
        let hex = request.schematicID.allSatisfy { $0.isHexDigit && ($0.isNumber || $0.isLowercase) }
        guard request.schematicID.count == 64, hex else {
            throw ClusterError(
                .invalidSpec, "schematic id \(request.schematicID) is not 64 lower-case hex digits",
                hint: "use the id Image Factory returned for the schematic")
        }
        guard request.talosVersion.hasPrefix("v"), SemanticVersion(parsing: request.talosVersion) != nil else {
            throw ClusterError(.invalidSpec, "Talos version \(request.talosVersion) is not of the form v1.2.3")
        }
        guard ["amd64", "arm64"].contains(request.architecture) else {
            throw ClusterError(.invalidSpec, "architecture \(request.architecture) is not amd64 or arm64")
        }
    }

    public func build(_ request: ImageRequest) async throws -> ProviderImage {
        try Self.validate(request)
        let labels = HetznerLabels.image(request)
        if let image = try await client.snapshots(labelSelector: HetznerLabels.selector(labels)).max(by: { $0.id < $1.id }) {
            return ProviderImage(id: String(image.id), description: image.description ?? "")
        }
        let tag = "\(String(request.talosVersion.map { $0 == "." ? "-" : $0 }))-\(request.schematicID.prefix(8))-\(request.architecture)"
        let builderLabels = [HetznerLabels.managedBy: HetznerLabels.managedByValue, "purpose": "image-build"]
        let key = try await client.createSSHKey(name: "clusterctl-image-\(tag)", publicKey: sshPublicKey, labels: builderLabels)
        var serverID: Int?
        do {
            let created = try await client.createServer(
                HetznerCreateServer(
                    name: "clusterctl-image-\(tag)", serverType: Self.builderServerType(architecture: request.architecture), image: "debian-12",
                    location: location, startAfterCreate: false, sshKeys: [String(key.id)], labels: builderLabels))
            serverID = created.server.id
            let id = created.server.id
            try await check([created.action] + created.nextActions, "creating the image build server")
            try await check([try await client.enableRescue(id: id, sshKeys: [key.id])], "enabling rescue mode")
            try await check([try await client.serverAction(id: id, "poweron")], "booting into rescue mode")
            guard let address = created.server.publicNet?.ipv4?.ip else {
                throw ClusterError(.provider, "the image build server has no public IPv4 to reach its rescue system")
            }
            let shell = try await connectWithRetry(address)
            for command in commands(request) {
                let result = try await shell.run(command, stdin: [UInt8]?.none)
                guard result.exitStatus == 0 else {
                    throw ClusterError(
                        .provider,
                        "writing the Talos image in rescue mode failed (exit \(result.exitStatus)): \(result.stderrText.suffix(400))",
                        hint: "check that \(imageURL(request)) exists (Talos version and schematic)")
                }
            }
            try await check([try await client.serverAction(id: id, "poweroff")], "powering off the image build server")
            let description = "Talos \(request.talosVersion) \(request.architecture) schematic \(request.schematicID) (clusterctl)"
            let (image, action) = try await client.createImage(serverID: id, description: description, labels: labels)
            try await check([action], "creating the snapshot")
            try await cleanUp(serverID: serverID, keyID: key.id)
            return ProviderImage(id: String(image.id), description: description)
        } catch {
            do { try await cleanUp(serverID: serverID, keyID: key.id) } catch let cleanupError {
                logger.error("image build clean-up failed", metadata: ["error": "\(cleanupError)"])
            }
            throw error
        }
    }

    /// Deletes the temporary server and key in a task of its own, so a cancelled build still cleans up.
    private func cleanUp(serverID: Int?, keyID: Int) async throws {
        let client = client
        let waiter = waiter
        try await Task {
            if let serverID, let action = try await client.deleteServer(id: serverID) {
                _ = try await waiter.wait(for: [action])
            }
            try await client.delete("/ssh_keys/\(keyID)")
        }.value
    }

    private func check(_ actions: [HetznerAction], _ what: String) async throws {
        let finished = try await waiter.wait(for: actions)
        if let failed = finished.first(where: { $0.status == "error" }) {
            throw ClusterError(
                .provider, "image build: \(what) failed: \(failed.error?.code ?? "unknown"): \(failed.error?.message ?? "no message")")
        }
    }

    /// The rescue system's sshd comes up some seconds after the power-on action succeeds.
    private func connectWithRetry(_ address: String) async throws -> any RemoteShell {
        var delay = Duration.seconds(2)
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await connect(address)
            } catch {
                guard attempt < 10 else {
                    throw ClusterError(.provider, "cannot reach the rescue system at \(address) over SSH", cause: error)
                }
                try await time.sleep(for: delay)
                delay = min(delay * 2, .seconds(15))
            }
        }
    }
}
