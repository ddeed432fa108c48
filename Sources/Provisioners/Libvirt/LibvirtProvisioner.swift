public import ClusterKit
import Foundation

/// Talos machines as libvirt/KVM domains on a plain Linux host, driven over SSH with `virsh`,
/// `qemu-img` and `genisoimage`, every command built from quoted arguments.
///
/// Each node is a qcow2 overlay on one base image, booted with a `cidata` seed ISO that carries
/// its machine config, and recorded in the domain's `<metadata>` so ``listMachines(cluster:)``
/// reads the inventory back from libvirt. A node's files live in its cluster's directory beside
/// the base images (``LibvirtNodeVolumes``): a failed create removes them, and
/// ``deleteClusterResources(cluster:)`` sweeps whatever an interrupted run left there.
public struct LibvirtProvisioner: Provisioner {
    public let name: String
    public let settings: LibvirtSettings
    public let imageSource: LibvirtImageSource?
    /// How long ``waitUntilRunning(_:)`` waits for a guest on a network or bridge to be running at
    /// an address before it fails with a timeout naming the node. With user-mode networking libvirt
    /// sees no address at all, so there a running domain is done.
    public var addressTimeout: Duration
    let shell: any RemoteShell
    let time: any TimeSource

    public var acceptsUserData: Bool { true }

    public init(
        name: String, settings: LibvirtSettings, shell: any RemoteShell, imageSource: LibvirtImageSource?,
        time: any TimeSource = SystemTimeSource(), addressTimeout: Duration = .seconds(300)
    ) {
        self.name = name
        self.settings = settings
        self.shell = shell
        self.imageSource = imageSource
        self.time = time
        self.addressTimeout = addressTimeout
    }

    /// Reaches the host over SSH as its settings say.
    public init(
        name: String, settings: LibvirtSettings, imageSource: LibvirtImageSource?,
        unknownHostKeyPolicy: SSHConfiguration.UnknownHostKeyPolicy = .refuse
    ) {
        self.init(
            name: name, settings: settings,
            shell: SSHClient(SSHConfiguration(target: settings.ssh, unknownHostKeyPolicy: unknownHostKeyPolicy)),
            imageSource: imageSource)
    }

    // MARK: image

    public func ensureImage(_ request: ImageRequest) async throws -> ProviderImage {
        let directory = try await storageDirectory()
        let schematic = String(request.schematicID.prefix(12))
        let path = "\(directory)/talos-\(request.talosVersion)-\(schematic)-nocloud-\(request.architecture).qcow2"
        let description = "Talos \(request.talosVersion) nocloud \(request.architecture) (schematic \(schematic))"
        guard let source = imageSource else {
            guard try await exists(path) else {
                throw ClusterError(
                    .notFound, "base image \(path) is not on libvirt host \(settings.ssh.host) and no image source is set",
                    hint: "download \(LibvirtImageSource.factoryURL(for: request)) to that path on the host")
            }
            return ProviderImage(id: path, description: description)
        }
        if try await exists(path) {
            let digest = try await sha256(of: path)
            if digest == source.sha256 { return ProviderImage(id: path, description: description) }
            throw ClusterError(
                .provider, "base image \(path) on \(settings.ssh.host) has sha256 \(digest), expected \(source.sha256)",
                hint: "remove the file on the host (no node may still use it) and run again")
        }
        let temporary = "\(path).partial"
        switch source {
        case .localFile(let local, _):
            guard let client = shell as? SSHClient else {
                throw ClusterError(.provider, "uploading \(local) needs the SSH transport")
            }
            try await client.uploadFile(at: local, to: temporary, mode: 0o644)
        case .url(let url, _):
            try await check(RemoteCommand("curl", "-fsSL", "--retry", "3", "-o", temporary, url), "downloading \(url)")
        }
        let digest = try await sha256(of: temporary)
        guard digest == source.sha256 else {
            _ = try? await shell.run(RemoteCommand("rm", "-f", temporary), stdin: nil)
            throw ClusterError(
                .provider, "the base image fetched to \(settings.ssh.host) has sha256 \(digest), expected \(source.sha256)",
                hint: "check the image source and its checksum")
        }
        try await check(RemoteCommand("mv", "-f", temporary, path), "placing the base image")
        return ProviderImage(id: path, description: description)
    }

    /// Checks that the network named in the settings exists; there is nothing else to share.
    public func ensureClusterResources(cluster: String) async throws {
        if let network = settings.network {
            try await virsh(["net-info", network], "checking libvirt network \(network)")
        }
    }

    /// Removes what a failed or interrupted run left in the cluster's storage directory: every
    /// file there whose node has no domain any more; the directory itself once it is empty.
    public func deleteClusterResources(cluster: String) async throws {
        let directory = try await clusterDirectory(cluster)
        let listing = try await shell.run(RemoteCommand("find", directory, "-mindepth", "1", "-maxdepth", "1", "-printf", "%f\\n"), stdin: nil)
        guard listing.exitStatus == 0 else { return }  // no directory: nothing was ever made
        let nodes = Set(try await listMachines(cluster: cluster).map(\.identity.node))
        let orphans = listing.stdoutText.split(whereSeparator: \.isNewline).map(String.init).filter { entry in
            !nodes.contains(LibvirtNodeVolumes.owner(of: entry))
        }
        if !orphans.isEmpty {
            try await check(RemoteCommand(["rm", "-rf"] + orphans.map { "\(directory)/\($0)" }), "removing leftovers of cluster \(cluster)")
        }
        _ = try await shell.run(RemoteCommand("rmdir", directory), stdin: nil)
    }

    // MARK: machines

    public func listMachines(cluster: String) async throws -> [ObservedMachine] {
        let names = try await virsh(["list", "--all", "--name"], "listing domains").stdoutText
            .split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        var machines: [ObservedMachine] = []
        for domain in names {
            guard let machine = try await observe(domain: domain), machine.identity.cluster == cluster else { continue }
            machines.append(machine)
        }
        return machines.sorted { $0.identity.node < $1.identity.node }
    }

    public func createMachine(_ request: MachineRequest) async throws -> ObservedMachine {
        let node = request.identity.node
        if let existing = try await observe(domain: node) { return existing }
        let files = try await volumes(of: request.identity)
        var defined = false
        do {
            var machine = try await define(request, files: files, defined: &defined)
            // Started is not done: the guest has no address until its DHCP client gets a lease
            // (seconds under KVM, tens of seconds under TCG), so the caller must wait for it.
            if machine.addresses.isEmpty && waitsForAddress { machine.phase = .provisioning }
            return machine
        } catch {
            // Nothing of a failed create stays behind: the domain if this call defined it, and its files.
            if defined {
                _ = try? await shell.run(virshCommand(["destroy", node]), stdin: nil)
                _ = try? await shell.run(virshCommand(["undefine", node]), stdin: nil)
            }
            _ = try? await shell.run(RemoteCommand(["rm", "-rf"] + files.all), stdin: nil)
            throw error
        }
    }

    /// Builds the overlay and seed, defines and starts the domain; sets `defined` once it is.
    private func define(_ request: MachineRequest, files: LibvirtNodeVolumes, defined: inout Bool) async throws -> ObservedMachine {
        let node = request.identity.node
        let mac = Self.macAddress(for: node)
        try await check(RemoteCommand("mkdir", "-p", "-m", "0755", files.directory), "preparing the storage of \(node)")

        var overlay = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", request.image.id, files.disk]
        if let disk = request.size.diskGiB { overlay.append("\(disk)G") }
        try await check(RemoteCommand(overlay), "creating the disk of \(node)")

        try await check(RemoteCommand("mkdir", "-p", "-m", "0700", files.seedDirectory), "preparing the seed of \(node)")
        var seedFiles = ["meta-data", "network-config"]
        try await shell.upload(Array(Self.metaData(node: node).utf8), to: "\(files.seedDirectory)/meta-data", mode: 0o600)
        try await shell.upload(Array(Self.networkConfig(mac: mac).utf8), to: "\(files.seedDirectory)/network-config", mode: 0o600)
        if let userData = request.userData {
            try await shell.upload(userData.bytes, to: "\(files.seedDirectory)/user-data", mode: 0o600)
            seedFiles.insert("user-data", at: 0)
        }
        try await check(
            RemoteCommand(
                ["genisoimage", "-quiet", "-output", files.seed, "-volid", "cidata", "-joliet", "-rock"]
                    + seedFiles.map { "\(files.seedDirectory)/\($0)" }),
            "building the cidata seed of \(node)")
        // The seed holds the machine config: readable by the hypervisor only.
        _ = try await shell.run(RemoteCommand("rm", "-rf", files.seedDirectory), stdin: nil)
        try await check(RemoteCommand("chmod", "0600", files.seed), "protecting the seed of \(node)")

        // KVM only when the guest's QEMU (user libvirt-qemu, group kvm on Debian) can open /dev/kvm;
        // a root-only device (containers, nested sandboxes) means software emulation (TCG).
        let groupAccess = try await shell.run(RemoteCommand("find", "/dev/kvm", "-perm", "-g=rw"), stdin: nil)
        let kvm = groupAccess.exitStatus == 0 && !groupAccess.stdoutText.isEmpty
        let metadata = LibvirtDomainMetadata(identity: request.identity, size: request.size, imageID: request.image.id)
        let xml = domainXML(
            node: node, metadata: metadata, kvm: kvm, disk: files.disk, seed: files.seed, mac: mac,
            cpus: request.size.cpus ?? 2, memoryMiB: request.size.memoryMiB ?? 2048)
        try await shell.upload(Array(xml.utf8), to: files.xml, mode: 0o600)
        let result = try await shell.run(virshCommand(["define", files.xml]), stdin: nil)
        _ = try? await shell.run(RemoteCommand("rm", "-f", files.xml), stdin: nil)
        guard result.exitStatus == 0 else { throw failure(result, "defining domain \(node)") }
        defined = true
        try await virsh(["start", node], "starting domain \(node)")
        guard let machine = try await observe(domain: node) else {
            throw ClusterError(.provider, "domain \(node) vanished right after it was started on \(settings.ssh.host)")
        }
        return machine
    }

    /// Whether a guest's address can be seen at all: libvirt knows DHCP leases (and ARP entries)
    /// on a network or bridge, but nothing of user-mode networking.
    private var waitsForAddress: Bool { settings.network != nil || settings.bridge != nil }

    public func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine {
        let start = time.now
        let node = machine.identity.node
        var poweredOn = false
        while true {
            guard let current = try await observe(domain: node) else {
                throw ClusterError(.notFound, "domain \(node) is gone from \(settings.ssh.host)")
            }
            if current.phase == .failed {
                throw ClusterError(
                    .provider, "domain \(node) crashed on \(settings.ssh.host)",
                    hint: "see /var/log/libvirt/qemu/\(node).log on the host")
            }
            if current.phase == .running && (!current.addresses.isEmpty || !waitsForAddress) {
                return current
            }
            // Powered off (a drill, a person): on, once, or it would never come up.
            if current.phase == .stopped && !poweredOn {
                poweredOn = true
                try await powerOn(current)
                continue
            }
            if time.now - start >= addressTimeout {
                let state = current.phase == .running ? "is running but has no address" : "is not running"
                throw ClusterError(
                    .timeout, "domain \(node) on \(settings.ssh.host) \(state) after \(addressTimeout)",
                    hint: "check that its network \(settings.network ?? settings.bridge ?? "") hands out DHCP leases "
                        + "(`virsh net-dhcp-leases`) and see /var/log/libvirt/qemu/\(node).log")
            }
            try await time.sleep(for: .seconds(2))
        }
    }

    public func deleteMachine(_ machine: ObservedMachine) async throws {
        let node = machine.identity.node
        let state = try await shell.run(virshCommand(["domstate", node]), stdin: nil)
        if state.exitStatus == 0 {
            if state.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) != "shut off" {
                let destroyed = try await shell.run(virshCommand(["destroy", node]), stdin: nil)
                if destroyed.exitStatus != 0 && !destroyed.stderrText.contains("not running") {
                    throw failure(destroyed, "stopping domain \(node)")
                }
            }
            try await virsh(["undefine", node], "undefining domain \(node)")
        }
        let files = try await volumes(of: machine.identity)
        try await check(RemoteCommand(["rm", "-rf"] + files.all), "removing the storage of \(node)")
    }

    // MARK: reading domains

    /// The machine a domain is, or nil when it is not one of ours (no clusterctl metadata) or gone.
    private func observe(domain: String) async throws -> ObservedMachine? {
        let metadataResult = try await shell.run(
            virshCommand(["metadata", domain, LibvirtDomainMetadata.namespace]), stdin: nil)
        guard metadataResult.exitStatus == 0, let metadata = LibvirtDomainMetadata(virshOutput: metadataResult.stdoutText)
        else { return nil }
        let uuid = try await shell.run(virshCommand(["domuuid", domain]), stdin: nil)
        let state = try await shell.run(virshCommand(["domstate", domain]), stdin: nil)
        guard uuid.exitStatus == 0, state.exitStatus == 0 else { return nil }
        let phase = Self.phase(fromDomstate: state.stdoutText)
        var addresses: [String] = []
        if phase == .running {
            for source in ["lease", "agent", "arp"] {
                let result = try await shell.run(virshCommand(["domifaddr", domain, "--source", source]), stdin: nil)
                if result.exitStatus == 0 { addresses = Self.addresses(fromDomifaddr: result.stdoutText) }
                if !addresses.isEmpty { break }
            }
        }
        return ObservedMachine(
            providerID: uuid.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), provider: name,
            identity: metadata.identity, phase: phase, addresses: addresses, size: metadata.size,
            location: settings.ssh.host, imageID: metadata.imageID)
    }

    /// Maps `virsh domstate` output (libvirt's virDomainState names) to a phase.
    static func phase(fromDomstate text: String) -> MachinePhase {
        switch text.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "running", "idle", "paused", "in shutdown", "blocked": .running
        case "shut off", "shutdown": .stopped
        case "crashed": .failed
        default: .provisioning
        }
    }

    /// IPv4 addresses first, then IPv6, from `virsh domifaddr` rows (`vnet0 52:54:... ipv4 10.0.0.5/24`).
    static func addresses(fromDomifaddr text: String) -> [String] {
        var v4: [String] = []
        var v6: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count >= 4, let protocolIndex = columns.firstIndex(where: { $0 == "ipv4" || $0 == "ipv6" }),
                protocolIndex + 1 < columns.count
            else { continue }
            let address = String(columns[protocolIndex + 1].split(separator: "/").first ?? "")
            if columns[protocolIndex] == "ipv4" { v4.append(address) } else { v6.append(address) }
        }
        return v4 + v6
    }

    // MARK: building blocks

    /// A stable locally administered MAC in QEMU's 52:54:00 range, derived from the node name, so
    /// the network-config can match the interface.
    static func macAddress(for node: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in node.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let bytes = [(hash >> 16) & 0xff, (hash >> 8) & 0xff, hash & 0xff]
        return "52:54:00:" + bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
    }

    /// nocloud meta-data: the instance id and hostname Talos takes from it (Talos docs, "Nocloud").
    static func metaData(node: String) -> String {
        "instance-id: \(node)\nlocal-hostname: \(node)\nhostname: \(node)\n"
    }

    /// nocloud network-config, version 1 (Talos docs, "Nocloud": v1 or v2 only; a file starting
    /// with a top-level `network:` key is rejected as version 0): DHCP on the interface with our MAC.
    static func networkConfig(mac: String) -> String {
        """
        version: 1
        config:
          - type: physical
            name: eth0
            mac_address: "\(mac)"
            subnets:
              - type: dhcp

        """
    }

    func domainXML(
        node: String, metadata: LibvirtDomainMetadata, kvm: Bool, disk: String, seed: String, mac: String, cpus: Int,
        memoryMiB: Int
    ) -> String {
        let e = LibvirtXML.escape
        let interface: String
        if let network = settings.network {
            interface = "<interface type='network'><source network='\(e(network))'/>"
        } else if let bridge = settings.bridge {
            interface = "<interface type='bridge'><source bridge='\(e(bridge))'/>"
        } else {
            interface = "<interface type='user'>"
        }
        return """
            <domain type='\(kvm ? "kvm" : "qemu")'>
              <name>\(e(node))</name>
              <metadata>\(metadata.xml)</metadata>
              <memory unit='MiB'>\(memoryMiB)</memory>
              <vcpu>\(cpus)</vcpu>
              <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
              <features><acpi/><apic/></features>
              \(kvm ? "<cpu mode='host-passthrough'/>" : "")
              <on_crash>destroy</on_crash>
              <devices>
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='\(e(disk))'/><target dev='vda' bus='virtio'/></disk>
                <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='\(e(seed))'/><target dev='hdc' bus='ide'/><readonly/></disk>
                \(interface)<mac address='\(mac)'/><model type='virtio'/></interface>
                <serial type='pty'><target port='0'/></serial>
                <console type='pty'><target type='serial' port='0'/></console>
              </devices>
            </domain>

            """
    }

    /// Where one cluster's volumes live: a directory named for the cluster beside the base images,
    /// so everything a run creates carries the cluster's mark and `down` can find it all.
    private func clusterDirectory(_ cluster: String) async throws -> String {
        "\(try await storageDirectory())/\(LibvirtNodeVolumes.directoryPrefix)\(cluster)"
    }

    private func volumes(of identity: NodeIdentity) async throws -> LibvirtNodeVolumes {
        LibvirtNodeVolumes(directory: try await clusterDirectory(identity.cluster), node: identity.node)
    }

    /// The directory holding the base image and node volumes: `storageDir`, or the storage pool's path.
    private func storageDirectory() async throws -> String {
        if let directory = settings.storageDir { return directory }
        let xml = try await virsh(["pool-dumpxml", settings.storagePool], "reading storage pool \(settings.storagePool)")
            .stdoutText
        guard let start = xml.range(of: "<path>"), let end = xml.range(of: "</path>", range: start.upperBound..<xml.endIndex)
        else {
            throw ClusterError(
                .provider, "storage pool \(settings.storagePool) on \(settings.ssh.host) is not a directory pool",
                hint: "set storageDir in the libvirt provider settings")
        }
        return LibvirtXML.unescape(String(xml[start.upperBound..<end.lowerBound]))
    }

    private func exists(_ path: String) async throws -> Bool {
        try await shell.run(RemoteCommand("test", "-f", path), stdin: nil).exitStatus == 0
    }

    private func sha256(of path: String) async throws -> String {
        let output = try await check(RemoteCommand("sha256sum", path), "hashing \(path)").stdoutText
        return String(output.prefix { !$0.isWhitespace }).lowercased()
    }

    func virshCommand(_ arguments: [String]) -> RemoteCommand {
        RemoteCommand(["virsh", "-q", "-c", settings.uri] + arguments)
    }

    @discardableResult
    private func virsh(_ arguments: [String], _ what: String) async throws -> RemoteCommandResult {
        try await check(virshCommand(arguments), what)
    }

    @discardableResult
    private func check(_ command: RemoteCommand, _ what: String) async throws -> RemoteCommandResult {
        let result = try await shell.run(command, stdin: nil)
        guard result.exitStatus == 0 else { throw failure(result, what) }
        return result
    }

    func failure(_ result: RemoteCommandResult, _ what: String) -> ClusterError {
        let detail = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        return ClusterError(
            .provider,
            "\(what) on libvirt host \(settings.ssh.host) failed (exit \(result.exitStatus)): \(detail.isEmpty ? "no message" : detail)",
            hint: "run the same virsh/qemu-img command on the host to see more")
    }
}
