import ClusterKit
import ClusterTestSupport
import Foundation
import Testing

/// `clusterctl up <cluster> --until machines` against the real libvirtd on this machine, reached
/// through a real sshd, with guests that really boot and ask libvirt's NAT network for a lease:
/// the command ends only when every node runs at a known address. `down` leaves nothing behind.
@Suite(.serialized, .enabled(if: LibvirtTestHost.shouldRun, "libvirt missing: \(LibvirtTestHost.unavailableReason ?? "")"))
struct CLILibvirtTests {
    @Test func upUntilMachinesEndsWithEveryAddressKnownAndDownCleansUp() throws {
        if let reason = LibvirtTestHost.dhcpGuestUnavailableReason { Issue.record("\(reason)"); return }
        let cli = try CLIHarness()
        let server = try SSHTestServer()
        let storage = try LibvirtTestHost.makeStorageDirectory()
        let cluster = "den\(UInt16.random(in: 1000...9999))"
        defer {
            LibvirtTestHost.removeDomains(prefix: cluster + "-")
            try? FileManager.default.removeItem(atPath: storage)
            server.stop()
            cli.cleanUp()
        }
        try cli.write(
            "clusters/\(cluster).yaml",
            """
            name: \(cluster)
            talos:
              version: v1.13.9
              image: default
              installDisk: /dev/vda
            kubernetes:
              version: v1.36.0
            endpoint:
              vip: 192.168.122.10
              linkSelector: link.driver == "virtio_net"
            network:
              podCIDRs: [10.244.0.0/16]
              serviceCIDRs: [10.96.0.0/12]
              kubeSpan: false
            providers:
              - name: kvm
                type: libvirt
                ssh:
                  host: 127.0.0.1
                  port: \(server.port)
                  user: \(server.user)
                  keyFile: \(server.clientKeyFile.path)
                  knownHostsFile: \(try server.writeKnownHosts(try server.knownHostsLine()))
                uri: \(LibvirtTestHost.uri)
                storageDir: \(storage)
                network: \(LibvirtTestHost.dhcpNetwork)
            pools:
              - name: cp
                role: controlplane
                provider: kvm
                count: 1
                size: {cpus: 1, memory: 2GiB, disk: 1GiB}
              - name: worker
                role: worker
                provider: kvm
                count: 1
                size: {cpus: 1, memory: 2GiB, disk: 1GiB}

            """)
        // The Talos base image the provider expects on the host (clusterctl names its download URL
        // when it is missing); here the DHCP guest stands in for it.
        let spec = try SpecLoader.load(path: cli.workDirectory.appendingPathComponent("clusters/\(cluster).yaml").path).spec
        let base = "\(storage)/talos-\(spec.talos.version)-\(spec.talos.schematicID.prefix(12))-nocloud-amd64.qcow2"
        try FileManager.default.copyItem(atPath: LibvirtTestHost.dhcpGuestImagePath, toPath: base)

        let up = try cli.run(["up", cluster, "--until", "machines"])
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        #expect(up.stdout.contains("2 of 2 nodes on track"), "\(up.stdout)\n\(up.stderr)")
        #expect(!up.stderr.contains("no address yet"), "\(up.stderr)")
        for node in ["\(cluster)-cp-1", "\(cluster)-worker-1"] {
            let line = up.stderr.split(separator: "\n").first { $0.contains(node) && $0.contains("running at ") }
            #expect(line?.contains("running at 192.168.122.") == true, "\(node): \(up.stderr)")
            #expect(try LibvirtTestHost.virsh("domifaddr", node, "--source", "lease").contains("192.168.122."))
        }

        let down = try cli.run(["down", cluster, "--yes"])
        #expect(down.status == 0, "\(down.stdout)\n\(down.stderr)")
        #expect(!(try LibvirtTestHost.virsh("list", "--all", "--name")).contains(cluster))
        #expect(try FileManager.default.contentsOfDirectory(atPath: storage) == [(base as NSString).lastPathComponent])
    }
}
