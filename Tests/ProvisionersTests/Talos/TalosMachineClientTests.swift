import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The Talos machine API client over the wire against the loopback Talos API peer: Ed25519
/// mutual TLS, roles, maintenance mode, bootstrap rules, etcd quorum, snapshot and kubeconfig.
@Suite("Talos machine API client over gRPC")
struct TalosMachineClientTests {
    private func withFixture(
        controlPlanes: Int = 3, workers: Int = 1, maintenance: Bool = false, timings: TalosAPIPeer.Timings = TalosAPIPeer.Timings(),
        _ body: (TalosPeerFixture) async throws -> Void
    ) async throws {
        try await TalosPeerFixture.with(controlPlanes: controlPlanes, workers: workers, maintenance: maintenance, timings: timings, body)
    }

    private func expectRefused(_ error: any Error, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = error as? ProvisionerError
        #expect(error?.code == .refused, "\(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error?.isTransient == false, sourceLocation: sourceLocation)
        #expect(error?.description.contains(text) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    @Test("an Ed25519 mutual TLS handshake works and Version answers")
    func handshake() async throws {
        try await withFixture { fixture in
            let version = try await fixture.client.version(of: fixture.controlPlanes[0], insecure: false)
            #expect(version.tag == "v1.13.9")
            #expect(version.hasConfig)
            let status = try await fixture.client.status(of: fixture.controlPlanes[0])
            #expect(status.stage == .running)
        }
    }

    @Test("a client certificate from another CA is refused in the handshake")
    func otherCA() async throws {
        try await withFixture { fixture in
            let other = try TalosPeerCertificates.selfSignedCA(organization: "talos")
            let cert = try TalosPeerCertificates.client(roles: ["os:admin"], signedBy: other)
            let client = try fixture.client(credentials: TalosCredentials(caPEM: fixture.secrets.osCA.certificatePEM, certificatePEM: cert.certificatePEM, keyPEM: cert.keyPEM))
            defer { Task { await client.shutdown() } }
            await #expect(throws: ProvisionerError.self) { try await client.version(of: fixture.controlPlanes[0], insecure: false) }
            do {
                _ = try await client.bootstrap(fixture.controlPlanes[0])
                Issue.record("bootstrap with a foreign certificate succeeded")
            } catch {
                expectRefused(error, "TLS handshake failed")
            }
            #expect(fixture.peer.bootstrapCount == 0)
        }
    }

    @Test("a client certificate whose extended key usage is not exactly ClientAuth is refused", arguments: [
        ["serverAuth", "clientAuth"], ["serverAuth"],
    ])
    func wrongEKU(usages: [String]) async throws {
        let purposes = usages.compactMap(TalosPeerCertificates.Purpose.init(rawValue:))
        try await withFixture { fixture in
            let cert = try TalosPeerCertificates.client(
                roles: ["os:admin"], signedBy: fixture.secrets.osCA, usages: purposes)
            let client = try fixture.client(credentials: TalosCredentials(caPEM: fixture.secrets.osCA.certificatePEM, certificatePEM: cert.certificatePEM, keyPEM: cert.keyPEM))
            defer { Task { await client.shutdown() } }
            do {
                _ = try await client.etcdMembers(via: fixture.controlPlanes[0])
                Issue.record("a certificate with EKU \(usages) was accepted")
            } catch {
                expectRefused(error, "TLS handshake failed")
            }
        }
    }

    @Test("the reader role may read but not bootstrap, apply or fetch a kubeconfig")
    func readerRole() async throws {
        try await withFixture { fixture in
            let client = try fixture.client(credentials: try TalosCredentials.issued(from: fixture.secrets, roles: ["os:reader"]))
            defer { Task { await client.shutdown() } }
            let cp = fixture.controlPlanes[0]
            #expect(try await client.version(of: cp, insecure: false).tag == "v1.13.9")
            #expect(try await client.services(of: cp).contains { $0.id == "etcd" })
            for call in ["bootstrap", "apply", "kubeconfig"] {
                do {
                    switch call {
                    case "bootstrap": _ = try await client.bootstrap(cp)
                    case "apply": try await client.applyConfiguration(fixture.config(for: cp), to: cp, insecure: false)
                    default: _ = try await client.kubeconfig(via: cp)
                    }
                    Issue.record("\(call) as os:reader succeeded")
                } catch {
                    expectRefused(error, "not authorized")
                }
            }
            #expect(fixture.peer.bootstrapCount == 0)
        }
    }

    @Test("os:etcd:backup may take a snapshot but not remove members")
    func backupRole() async throws {
        try await withFixture(controlPlanes: 1, workers: 0) { fixture in
            let cp = fixture.controlPlanes[0]
            #expect(try await fixture.client.bootstrap(cp) == .bootstrapped)
            let client = try fixture.client(credentials: try TalosCredentials.issued(from: fixture.secrets, roles: ["os:etcd:backup"]))
            defer { Task { await client.shutdown() } }
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("talos-backup-\(UUID().uuidString).db").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let snapshot = try await client.etcdSnapshot(via: cp, to: path)
            #expect(snapshot.size % 512 == 32)
            do {
                try await client.removeEtcdMember(named: "cp-1", via: cp)
                Issue.record("os:etcd:backup removed a member")
            } catch {
                expectRefused(error, "not authorized")
            }
        }
    }

    @Test("maintenance mode: mutual TLS fails, the insecure apply works once, then only mutual TLS")
    func maintenance() async throws {
        try await withFixture(controlPlanes: 1, workers: 0, maintenance: true) { fixture in
            let cp = fixture.controlPlanes[0]
            #expect(try await fixture.client.status(of: cp).stage == .maintenance)
            // Verifying against the OS CA fails: the node signs with its per-boot CA.
            do {
                try await fixture.client.applyConfiguration(fixture.config(for: cp), to: cp, insecure: false)
                Issue.record("a verified apply reached a node in maintenance mode")
            } catch {
                expectRefused(error, "TLS handshake failed")
            }
            // Everyone is os:reader there: admin-only calls are refused even without verification.
            let result = try await fixture.client.applyConfiguration(fixture.config(for: cp), to: cp, mode: .reboot, dryRun: false, insecure: true)
            #expect(result.mode == .noReboot)
            #expect(result.details == "Applied configuration without a reboot")
            #expect(!fixture.peer.isInMaintenance("10.5.0.11"))
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await fixture.client.status(of: cp).stage == .running)
            do {
                try await fixture.client.applyConfiguration(fixture.config(for: cp), to: cp, insecure: true)
                Issue.record("the insecure maintenance API stayed open after the config was applied")
            } catch {
                expectRefused(error, "TLS handshake failed")
            }
            #expect(try await fixture.client.applyConfiguration(fixture.config(for: cp), to: cp, insecure: false).mode == .noReboot)
        }
    }

    @Test("bootstrap waits out 'not available yet' and 'time not in sync', happens once, then AlreadyExists is recognised")
    func bootstrapOnce() async throws {
        try await withFixture(timings: .init(joinDelay: .seconds(60))) { fixture in
            let cp1 = fixture.controlPlanes[0]
            #expect(try await fixture.client.etcdMembers(via: cp1).isEmpty)
            fixture.peer.update("10.5.0.11") { $0.criReady = false }
            do {
                _ = try await fixture.client.bootstrap(cp1)
                Issue.record("bootstrap before the CRI was up succeeded")
            } catch let error as ProvisionerError {
                #expect(error.isTransient)
                #expect(error.message.contains("bootstrap is not available yet"))
            }
            fixture.peer.update("10.5.0.11") {
                $0.criReady = true
                $0.timeSynced = false
            }
            await #expect { try await fixture.client.bootstrap(cp1) } throws: { ($0 as? ProvisionerError)?.isTransient == true }
            fixture.peer.update("10.5.0.11") { $0.timeSynced = true }
            #expect(try await fixture.client.bootstrap(cp1) == .bootstrapped)
            #expect(try await fixture.client.bootstrap(cp1) == .alreadyBootstrapped)
            #expect(fixture.peer.bootstrapCount == 1)
            // Talos does not stop a bootstrap on a control plane that has not joined: a split brain.
            #expect(try await fixture.client.bootstrap(fixture.controlPlanes[1]) == .bootstrapped)
            #expect(fixture.peer.etcdClusterCount == 2)
            do {
                _ = try await fixture.client.bootstrap(fixture.workers[0])
                Issue.record("a worker bootstrapped etcd")
            } catch {
                expectRefused(error, "only available on control plane nodes")
            }
        }
    }

    /// Bootstraps cp-1 and waits until every control plane is a voting member.
    private func formCluster(_ fixture: TalosPeerFixture) async throws -> [EtcdMember] {
        #expect(try await fixture.client.bootstrap(fixture.controlPlanes[0]) == .bootstrapped)
        var sawLearner = false
        for _ in 0..<100 {
            let members = try await fixture.client.etcdMembers(via: fixture.controlPlanes[0])
            sawLearner = sawLearner || members.contains(where: \.isLearner)
            if members.count == fixture.controlPlanes.count, !members.contains(where: \.isLearner) {
                #expect(sawLearner, "joining members were never learners")
                return members
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the control planes never all became voting members")
        return []
    }

    @Test("members join as learners, are promoted, and are removed by hostname within etcd's quorum rules")
    func membership() async throws {
        try await withFixture(timings: .init(joinDelay: .milliseconds(50), learnerPromotion: .milliseconds(150))) { fixture in
            let members = try await formCluster(fixture)
            #expect(Set(members.map(\.hostname)) == ["cp-1", "cp-2", "cp-3"])
            #expect(Set(members.map(\.id)).count == 3)
            let cp1 = fixture.controlPlanes[0]
            do {
                try await fixture.client.removeEtcdMember(named: "cp-9", via: cp1)
                Issue.record("removing an unknown member succeeded")
            } catch let error as ProvisionerError {
                #expect(error.code == .notFound)
            }
            // cp-3 goes down: removing the live cp-2 would leave one of two connected voters.
            fixture.peer.update("10.5.0.13") { $0.up = false }
            do {
                try await fixture.client.removeEtcdMember(named: "cp-2", via: cp1)
                Issue.record("etcd allowed a removal that breaks quorum")
            } catch let error as ProvisionerError {
                #expect(error.message.contains("etcdserver: unhealthy cluster"))
                #expect(error.isTransient)
            }
            // A down member can be removed.
            try await fixture.client.removeEtcdMember(named: "cp-3", via: cp1)
            #expect(try await fixture.client.etcdMembers(via: cp1).map(\.hostname).sorted() == ["cp-1", "cp-2"])
            // cp-2 leaves by itself; then the last member can never go.
            try await fixture.client.leaveEtcd(fixture.controlPlanes[1])
            #expect(try await fixture.client.etcdMembers(via: cp1).map(\.hostname) == ["cp-1"])
            do {
                try await fixture.client.removeEtcdMember(named: "cp-1", via: cp1)
                Issue.record("etcd removed its last member")
            } catch let error as ProvisionerError {
                #expect(error.message.contains("not enough started members"))
                #expect(!error.isTransient)
            }
        }
    }

    /// Polls the node's status until it is `stage`, for up to five seconds.
    private func waitFor(_ stage: TalosStage, _ machine: ObservedMachine, _ fixture: TalosPeerFixture) async throws -> Bool {
        for _ in 0..<100 {
            if try await fixture.client.status(of: machine).stage == stage { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test("reboot and reset answer at once; a graceful reset leaves etcd and the wiped node boots into maintenance")
    func rebootAndReset() async throws {
        try await withFixture(timings: .init(joinDelay: .milliseconds(50), learnerPromotion: .milliseconds(100), reboot: .milliseconds(300))) { fixture in
            _ = try await formCluster(fixture)
            let cp2 = fixture.controlPlanes[1], cp3 = fixture.controlPlanes[2]
            try await fixture.client.reboot(cp2, mode: .default)
            #expect(try await fixture.client.status(of: cp2).stage == .unreachable)
            #expect(try await waitFor(.running, cp2, fixture))
            #expect(try await fixture.client.etcdMembers(via: cp2).count == 3, "a reboot keeps the member")
            try await fixture.client.reset(cp3, options: TalosResetOptions(graceful: true, reboot: true))
            #expect(try await fixture.client.etcdMembers(via: fixture.controlPlanes[0]).map(\.hostname).sorted() == ["cp-1", "cp-2"])
            #expect(try await waitFor(.maintenance, cp3, fixture))
            #expect(try await fixture.client.version(of: cp3, insecure: true).hasConfig == false)
        }
    }

    @Test("calls reach a node through an endpoint with node metadata; a worker endpoint cannot forward")
    func endpointRouting() async throws {
        try await withFixture(timings: .init(joinDelay: .milliseconds(50), learnerPromotion: .milliseconds(100))) { fixture in
            let viaCP = try fixture.client(endpoint: "10.5.0.11")
            defer { Task { await viaCP.shutdown() } }
            // cp-3 bootstrapped through cp-1's apid, as talosctl does with `--endpoints cp-1 --nodes cp-3`.
            #expect(try await viaCP.bootstrap(fixture.controlPlanes[2]) == .bootstrapped)
            #expect(fixture.peer.bootstrapCount == 1)
            let services = try await viaCP.services(of: fixture.controlPlanes[2])
            #expect(services.first { $0.id == "etcd" }?.state == "Running")
            let viaWorker = try fixture.client(endpoint: "10.5.0.21")
            defer { Task { await viaWorker.shutdown() } }
            do {
                _ = try await viaWorker.version(of: fixture.controlPlanes[0], insecure: false)
                Issue.record("a worker forwarded a request")
            } catch {
                expectRefused(error, "no request forwarding")
            }
            #expect(try await viaWorker.version(of: fixture.workers[0], insecure: false).hasConfig)
        }
    }

    @Test("an etcd snapshot streams to a .part file, is checked, then renamed")
    func snapshot() async throws {
        try await withFixture(controlPlanes: 1, workers: 0) { fixture in
            let cp = fixture.controlPlanes[0]
            #expect(try await fixture.client.bootstrap(cp) == .bootstrapped)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("talos-snap-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("etcd.snapshot").path
            let info = try await fixture.client.etcdSnapshot(via: cp, to: path)
            let bytes = try #require(FileManager.default.contents(atPath: path))
            #expect(info.size == bytes.count)
            #expect(bytes.count % 512 == 32)
            #expect(bytes.count > 1024, "the snapshot should span several 1024-byte chunks")
            #expect(!FileManager.default.fileExists(atPath: path + ".part"))
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            // Upload it again and recover from it on a fresh node.
            try await fixture.client.etcdRecover(cp, from: path)
        }
    }

    @Test("the kubeconfig is read from the unterminated tar.gz stream")
    func kubeconfig() async throws {
        try await withFixture(controlPlanes: 1, workers: 1) { fixture in
            let text = try await fixture.client.kubeconfig(via: fixture.controlPlanes[0])
            #expect(text.contains("name: admin@home"))
            #expect(text.contains("server: https://10.5.0.10:6443"))
            #expect(text.contains("client-key-data:"))
            do {
                _ = try await fixture.client.kubeconfig(via: fixture.workers[0])
                Issue.record("a worker served a kubeconfig")
            } catch {
                expectRefused(error, "only available on control plane nodes")
            }
        }
    }
}

