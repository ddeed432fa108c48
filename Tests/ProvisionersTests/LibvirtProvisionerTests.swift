import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The libvirt provider end to end: real libvirtd (TCG) on this machine, reached through a real
/// sshd on loopback, with a tiny qcow2 of the test's own making as the Talos image.
@Suite(.serialized, .enabled(if: LibvirtTestHost.shouldRun, "libvirt missing: \(LibvirtTestHost.unavailableReason ?? "")"))
struct LibvirtProvisionerTests {
    @Test func upNodeAddNodeRemoveDown() async throws {
        if let reason = LibvirtTestHost.unavailableReason { Issue.record("\(reason)"); return }
        let server = try SSHTestServer()
        defer { server.stop() }
        let storage = try LibvirtTestHost.makeStorageDirectory()
        let cluster = "cct\(UInt16.random(in: 1000...9999))"
        defer {
            LibvirtTestHost.removeDomains(prefix: cluster + "-")
            try? FileManager.default.removeItem(atPath: storage)
        }
        let image = try LibvirtTestHost.makeStandInImage(in: server.directory)
        let settings = LibvirtSettings(
            ssh: SSHTarget(
                host: "127.0.0.1", port: server.port, user: server.user, keyFile: server.clientKeyFile.path,
                passphrase: nil, knownHostsFile: try server.writeKnownHosts(try server.knownHostsLine())),
            uri: LibvirtTestHost.uri, storagePool: "default", storageDir: storage, bridge: nil, network: nil)
        let provisioner = LibvirtProvisioner(
            name: "home", settings: settings, shell: try server.client(),
            imageSource: .localFile(path: image.path, sha256: image.sha256), addressTimeout: .zero)

        // Image: uploaded once, checksum verified, reused after.
        let request = ImageRequest(
            name: "talos", talosVersion: "v1.11.0", schematicID: String(repeating: "ab", count: 32),
            architecture: "amd64", platform: "nocloud")
        let base = try await provisioner.ensureImage(request)
        #expect(base.id.hasPrefix(storage + "/talos-v1.11.0-"))
        #expect(FileManager.default.contents(atPath: base.id) == FileManager.default.contents(atPath: image.path))
        #expect(try await provisioner.ensureImage(request) == base)
        let mismatched = LibvirtProvisioner(
            name: "home", settings: settings, shell: try server.client(),
            imageSource: .localFile(path: image.path, sha256: String(repeating: "0", count: 64)))
        await #expect(throws: ClusterError.self) { _ = try await mismatched.ensureImage(request) }

        try await provisioner.ensureClusterResources(cluster: cluster)

        // up: two control-plane nodes.
        func machine(_ pool: String, _ role: NodeRole, _ index: Int) -> MachineRequest {
            let node = NodeIdentity.nodeName(cluster: cluster, pool: pool, index: index)
            return MachineRequest(
                identity: NodeIdentity(cluster: cluster, pool: pool, role: role, node: node),
                size: MachineSize(cpus: 1, memoryMiB: 128, diskGiB: 1), image: base,
                userData: MachineConfigPayload("version: v1alpha1\nmachine:\n  type: \(role.rawValue)\n"))
        }
        for index in 1...2 {
            let created = try await provisioner.createMachine(machine("cp", .controlPlane, index))
            let running = try await provisioner.waitUntilRunning(created)
            #expect(running.phase == .running)
        }
        var listed = try await provisioner.listMachines(cluster: cluster)
        #expect(listed.map(\.identity.node) == ["\(cluster)-cp-1", "\(cluster)-cp-2"])
        #expect(listed.allSatisfy { $0.identity.role == .controlPlane && $0.identity.pool == "cp" && $0.phase == .running })
        #expect(listed.first?.size == MachineSize(cpus: 1, memoryMiB: 128, diskGiB: 1))
        #expect(listed.first?.imageID == base.id)
        #expect(try LibvirtTestHost.virsh("domstate", "\(cluster)-cp-1").contains("running"))
        // Nothing of another cluster shows.
        #expect(try await provisioner.listMachines(cluster: cluster + "x").isEmpty)

        // The seed ISO is a cidata volume carrying the machine config and nocloud files.
        // Every file of the cluster sits in its own directory, named for the cluster.
        let volumes = "\(storage)/clusterctl-\(cluster)"
        let seed = "\(volumes)/\(cluster)-cp-1-cidata.iso"
        #expect(try ChildProcess.run("/usr/bin/isoinfo", ["-d", "-i", seed]).contains("Volume id: cidata"))
        let userData = try ChildProcess.run("/usr/bin/isoinfo", ["-i", seed, "-J", "-x", "/user-data"])
        #expect(userData == "version: v1alpha1\nmachine:\n  type: controlplane\n")
        let networkConfig = try ChildProcess.run("/usr/bin/isoinfo", ["-i", seed, "-J", "-x", "/network-config"])
        #expect(networkConfig.hasPrefix("version: 1\n"))
        // The overlay is backed by the base image.
        let info = try ChildProcess.run("/usr/bin/qemu-img", ["info", "-U", "\(volumes)/\(cluster)-cp-1.qcow2"])
        #expect(info.contains("backing file: \(base.id)"))

        // Creating an existing node returns it, never a duplicate.
        let again = try await provisioner.createMachine(machine("cp", .controlPlane, 1))
        #expect(again.providerID == listed[0].providerID)

        // node add: a worker.
        _ = try await provisioner.createMachine(machine("workers", .worker, 1))
        listed = try await provisioner.listMachines(cluster: cluster)
        #expect(listed.count == 3)
        #expect(listed.first { $0.identity.pool == "workers" }?.identity.role == .worker)

        // node remove: cp-2 goes, with its storage.
        let removed = try #require(listed.first { $0.identity.node == "\(cluster)-cp-2" })
        try await provisioner.deleteMachine(removed)
        listed = try await provisioner.listMachines(cluster: cluster)
        #expect(listed.map(\.identity.node).sorted() == ["\(cluster)-cp-1", "\(cluster)-workers-1"])
        #expect(!FileManager.default.fileExists(atPath: "\(volumes)/\(cluster)-cp-2.qcow2"))
        #expect(!FileManager.default.fileExists(atPath: "\(volumes)/\(cluster)-cp-2-cidata.iso"))
        #expect(throws: (any Error).self) { try LibvirtTestHost.virsh("domstate", "\(cluster)-cp-2") }
        // Deleting what is gone succeeds.
        try await provisioner.deleteMachine(removed)

        // down.
        for machine in listed { try await provisioner.deleteMachine(machine) }
        try await provisioner.deleteClusterResources(cluster: cluster)
        #expect(try await provisioner.listMachines(cluster: cluster).isEmpty)
        #expect(!(try LibvirtTestHost.virsh("list", "--all", "--name")).contains(cluster))
        let left = try FileManager.default.contentsOfDirectory(atPath: storage)
        #expect(left == [(base.id as NSString).lastPathComponent])
    }

    /// What the libvirt tests share: a real sshd in front of the local libvirtd, a storage
    /// directory of the test's own, a cluster name no other test uses.
    struct Host {
        let server: SSHTestServer
        let storage: String
        let cluster: String

        init() throws {
            server = try SSHTestServer()
            storage = try LibvirtTestHost.makeStorageDirectory()
            cluster = "cct\(UInt16.random(in: 1000...9999))"
        }

        func stop() {
            LibvirtTestHost.removeDomains(prefix: cluster + "-")
            try? FileManager.default.removeItem(atPath: storage)
            server.stop()
        }

        func provisioner(network: String?, image: (path: String, sha256: String), addressTimeout: Duration) throws -> LibvirtProvisioner {
            let settings = LibvirtSettings(
                ssh: SSHTarget(
                    host: "127.0.0.1", port: server.port, user: server.user, keyFile: server.clientKeyFile.path,
                    passphrase: nil, knownHostsFile: try server.writeKnownHosts(try server.knownHostsLine())),
                uri: LibvirtTestHost.uri, storagePool: "default", storageDir: storage, bridge: nil, network: network)
            return LibvirtProvisioner(
                name: "home", settings: settings, shell: try server.client(),
                imageSource: .localFile(path: image.path, sha256: image.sha256), addressTimeout: addressTimeout)
        }

        func request(_ pool: String, _ index: Int, image: ProviderImage, memoryMiB: Int = 256) -> MachineRequest {
            let node = NodeIdentity.nodeName(cluster: cluster, pool: pool, index: index)
            return MachineRequest(
                identity: NodeIdentity(cluster: cluster, pool: pool, role: .worker, node: node),
                size: MachineSize(cpus: 1, memoryMiB: memoryMiB, diskGiB: 1), image: image,
                userData: MachineConfigPayload("version: v1alpha1\n"))
        }
    }

    static let imageRequest = ImageRequest(
        name: "talos", talosVersion: "v1.11.0", schematicID: String(repeating: "cd", count: 32), architecture: "amd64",
        platform: "nocloud")

    /// A guest that really boots (Debian's kernel, busybox udhcpc) on libvirt's NAT network: the
    /// machine is done only once it is running at the address its DHCP lease gave it.
    @Test(.enabled(if: LibvirtTestHost.dhcpGuestUnavailableReason == nil || ProcessInfo.processInfo.environment["CI"] == "true"))
    func aFreshDomainIsDoneOnlyAtItsLeasedAddress() async throws {
        if let reason = LibvirtTestHost.dhcpGuestUnavailableReason { Issue.record("\(reason)"); return }
        let host = try Host()
        defer { host.stop() }
        let provisioner = try host.provisioner(
            network: LibvirtTestHost.dhcpNetwork, image: try LibvirtTestHost.dhcpGuestImage(), addressTimeout: .seconds(180))
        let base = try await provisioner.ensureImage(Self.imageRequest)
        var machine = try await provisioner.createMachine(host.request("workers", 1, image: base))
        // As the executor does: a machine that is not running yet is waited on.
        if machine.phase != .running { machine = try await provisioner.waitUntilRunning(machine) }
        #expect(machine.phase == .running)
        let address = try #require(machine.addresses.first, "no address once machines were done")
        #expect(address.hasPrefix("192.168.122."), "\(machine.addresses)")
        // The address is the one libvirt's dnsmasq leased to this domain's MAC.
        let leases = try LibvirtTestHost.virsh("net-dhcp-leases", LibvirtTestHost.dhcpNetwork)
        #expect(leases.contains(address), "\(leases)")
        try await provisioner.deleteMachine(machine)
    }

    @Test func aDomainThatGetsNoAddressTimesOutNamingTheNode() async throws {
        if let reason = LibvirtTestHost.dhcpGuestUnavailableReason { Issue.record("\(reason)"); return }
        let host = try Host()
        defer { host.stop() }
        // The stand-in disk boots nothing, so no DHCP client ever asks.
        let image = try LibvirtTestHost.makeStandInImage(in: host.server.directory)
        let provisioner = try host.provisioner(network: LibvirtTestHost.dhcpNetwork, image: image, addressTimeout: .seconds(6))
        let base = try await provisioner.ensureImage(Self.imageRequest)
        let machine = try await provisioner.createMachine(host.request("workers", 1, image: base, memoryMiB: 64))
        #expect(machine.phase == .provisioning)
        let error = await #expect(throws: ClusterError.self) { _ = try await provisioner.waitUntilRunning(machine) }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("\(host.cluster)-workers-1") == true, "\(String(describing: error))")
        #expect(error?.message.contains("no address") == true)
        try await provisioner.deleteMachine(machine)
    }

    @Test func aFailedCreateLeavesNothingAndDownSweepsWhatACrashLeft() async throws {
        if let reason = LibvirtTestHost.unavailableReason { Issue.record("\(reason)"); return }
        let host = try Host()
        defer { host.stop() }
        let image = try LibvirtTestHost.makeStandInImage(in: host.server.directory)
        let provisioner = try host.provisioner(network: nil, image: image, addressTimeout: .zero)
        let base = try await provisioner.ensureImage(Self.imageRequest)
        let volumes = "\(host.storage)/clusterctl-\(host.cluster)"

        // Someone else's domain already has the node's name: defining ours fails after the overlay
        // and seed were made. They go; the other domain stays.
        let node = "\(host.cluster)-workers-1"
        let foreign = host.server.directory.appendingPathComponent("foreign.xml")
        try "<domain type='qemu'><name>\(node)</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>"
            .write(to: foreign, atomically: true, encoding: .utf8)
        try LibvirtTestHost.virsh("define", foreign.path)
        let failed = await #expect(throws: ClusterError.self) {
            _ = try await provisioner.createMachine(host.request("workers", 1, image: base, memoryMiB: 64))
        }
        #expect(failed?.message.contains("defining domain \(node)") == true, "\(String(describing: failed))")
        let leftovers = (FileManager.default.subpaths(atPath: host.storage) ?? []).filter {
            !$0.hasPrefix("talos-") && $0 != "clusterctl-\(host.cluster)"
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(try LibvirtTestHost.virsh("domstate", node).contains("shut off"))

        // A run that died mid-create left an overlay and a seed directory; a live node's files stay.
        let kept = try await provisioner.createMachine(host.request("workers", 2, image: base, memoryMiB: 64))
        try FileManager.default.createDirectory(atPath: "\(volumes)/.\(host.cluster)-workers-3-cidata", withIntermediateDirectories: true)
        try ChildProcess.run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", "\(volumes)/\(host.cluster)-workers-3.qcow2", "1M"])
        try await provisioner.deleteClusterResources(cluster: host.cluster)
        #expect(try FileManager.default.contentsOfDirectory(atPath: volumes).sorted() == [
            "\(host.cluster)-workers-2-cidata.iso", "\(host.cluster)-workers-2.qcow2",
        ])
        // down: the machine, then the cluster's resources; nothing of the cluster is left.
        try await provisioner.deleteMachine(kept)
        try await provisioner.deleteClusterResources(cluster: host.cluster)
        #expect(!FileManager.default.fileExists(atPath: volumes))
    }

    @Test func metadataRoundTripsThroughXML() throws {
        let metadata = LibvirtDomainMetadata(
            identity: NodeIdentity(cluster: "c&<", pool: "p", role: .worker, node: "c-p-1"),
            size: MachineSize(cpus: 2, memoryMiB: 4096), imageID: "/var/img/base.qcow2")
        // virsh prints the element without its namespace prefix.
        let printed = metadata.xml.replacingOccurrences(of: "clusterctl:", with: "")
        #expect(LibvirtDomainMetadata(virshOutput: printed) == metadata)
        #expect(LibvirtDomainMetadata(virshOutput: "<machine><cluster>c</cluster></machine>") == nil)
    }
}
