import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// The Talos machine API client over the wire (TalosMachineClient → TalosAPIPeer → a real
/// three-member etcd on loopback): the refusals asserted here are etcd 3.4's own, not a model's.
@Suite("etcd calls against a real etcd cluster", .serialized, .enabled(if: EtcdTestCluster.shouldRun, Comment(rawValue: EtcdTestCluster.unavailableReason ?? "")))
struct EtcdBackedPeerTests {
    private func withCluster(
        controlPlanes: Int = 3, timings: TalosPeerEtcd.Timings = TalosPeerEtcd.Timings(), _ body: (TalosPeerFixture, TalosPeerEtcd) async throws -> Void
    ) async throws {
        try await TalosPeerFixture.withRealEtcd(controlPlanes: controlPlanes, timings: timings, body)
    }

    private func message(_ error: any Error) -> String { (error as? ProvisionerError)?.description ?? "\(error)" }

    @Test("member list over the wire shows etcd's IDs, names and learner flags")
    func memberList() async throws {
        try await withCluster { fixture, backend in
            let cp1 = fixture.controlPlanes[0]
            let listed = try await fixture.client.etcdMembers(via: cp1)
            let truth = try await backend.etcd.members(via: "cp-2")
            #expect(listed.map(\.hostname).sorted() == ["cp-1", "cp-2", "cp-3"])
            #expect(Set(listed.map(\.id)) == Set(truth.map(\.id)))
            #expect(listed.allSatisfy { !$0.isLearner && $0.clientURLs.count == 1 })
            // A learner added but not started: no name, no client URLs, learner flag set.
            let id = try await EtcdTestCluster.afterHealthInterval { try await backend.etcd.addMember("cp-4", learner: true, via: "cp-1") }
            let after = try await fixture.client.etcdMembers(via: fixture.controlPlanes[1])
            let learner = try #require(after.first { $0.id == id })
            #expect(learner.isLearner)
            #expect(learner.hostname.isEmpty)
            #expect(learner.clientURLs.isEmpty)
        }
    }

    @Test("a stopped member is removed through a healthy one")
    func removeStopped() async throws {
        try await withCluster { fixture, backend in
            fixture.peer.update("10.5.0.13") { $0.up = false }
            #expect(!backend.etcd.isRunning("cp-3"))
            // If cp-3 led, a request sent before the others elect a new leader waits for etcd's
            // request timeout: an operator notices a dead node after that anyway.
            try await backend.etcd.waitForLeader()
            try await fixture.client.removeEtcdMember(named: "cp-3", via: fixture.controlPlanes[0])
            #expect(try await fixture.client.etcdMembers(via: fixture.controlPlanes[1]).map(\.hostname).sorted() == ["cp-1", "cp-2"])
            #expect(try await backend.etcd.members(via: "cp-2").count == 2)
        }
    }

    @Test("removals that would lose quorum are refused by etcd")
    func removeRefused() async throws {
        try await withCluster { fixture, backend in
            let cp1 = fixture.controlPlanes[0]
            // One of three down: removing a live member would leave one connected voter of two.
            // etcd judges that by the connections cp-1 knows are down, so wait until it knows.
            fixture.peer.update("10.5.0.13") { $0.up = false }
            try await backend.etcd.waitUntilDisconnected("cp-3", seenBy: "cp-1")
            do {
                try await fixture.client.removeEtcdMember(named: "cp-2", via: cp1)
                Issue.record("etcd allowed a removal that breaks quorum")
            } catch {
                #expect(message(error).contains("etcdserver: unhealthy cluster"), "\(message(error))")
            }
            // Two of three down: no leader, so nothing can be removed (Talos asks with WithRequireLeader).
            // Ask only once cp-1 has stepped down (CheckQuorum, about one election timeout): a
            // removal proposed while it still leads cannot commit and times out, but it stays in
            // cp-1's log and commits once the others return, as it would on a real cluster.
            fixture.peer.update("10.5.0.12") { $0.up = false }
            let stepDown = ContinuousClock.now + .seconds(15)
            while (try? await backend.etcd.members(via: "cp-1")) != nil, ContinuousClock.now < stepDown {
                try await Task.sleep(for: .milliseconds(100))
            }
            do {
                try await fixture.client.removeEtcdMember(named: "cp-2", via: cp1)
                Issue.record("etcd removed a member without quorum")
            } catch {
                #expect(message(error).contains("etcdserver: no leader"), "\(message(error))")
            }
            // Power back: quorum returns and every member is still there.
            fixture.peer.update("10.5.0.12") { $0.up = true }
            fixture.peer.update("10.5.0.13") { $0.up = true }
            try await backend.etcd.waitReady("cp-1")
            // Restarted members come back under load at their own pace (a leader election first);
            // read until the list settles rather than once.
            var names: [String] = []
            for _ in 0..<60 {
                names = (try? await backend.etcd.members(via: "cp-1").map(\.name).sorted()) ?? []
                if names == ["cp-1", "cp-2", "cp-3"] { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(names == ["cp-1", "cp-2", "cp-3"])
        }
    }

    @Test("the last member cannot be removed: not enough started members")
    func lastMember() async throws {
        try await withCluster(controlPlanes: 1) { fixture, _ in
            do {
                try await fixture.client.removeEtcdMember(named: "cp-1", via: fixture.controlPlanes[0])
                Issue.record("etcd removed its last member")
            } catch {
                #expect(message(error).contains("re-configuration failed due to not enough started members"), "\(message(error))")
            }
        }
    }

    @Test("a joining learner is promoted only once it is in sync with the leader")
    func learnerPromotion() async throws {
        try await withCluster { fixture, backend in
            let etcd = backend.etcd
            try await etcd.put("/registry/pods/default/web", "payload", via: "cp-1")
            let id = try await EtcdTestCluster.afterHealthInterval { try await etcd.addMember("cp-4", learner: true, via: "cp-1") }
            // Not started, so not in sync: etcd refuses the promotion, and a second learner.
            do {
                try await etcd.promote(id, via: "cp-1")
                Issue.record("etcd promoted a learner that never started")
            } catch {
                #expect("\(error)".contains("can only promote a learner member which is in sync with leader"), "\(error)")
            }
            // etcd checks every voter's connection before any add, learners' too (`mayAddMember`):
            // under load a peer stream that reconnected answers "unhealthy cluster" first.
            do {
                _ = try await EtcdTestCluster.afterHealthInterval { try await etcd.addMember("cp-5", learner: true, via: "cp-1") }
                Issue.record("etcd added a second learner")
            } catch {
                #expect("\(error)".contains("too many learner members in cluster"), "\(error)")
            }
            // cp-4 boots as a control plane: Talos' join reuses the unfinished learner, starts
            // etcd, and promotes once etcd accepts.
            try await fixture.peer.addNode(
                address: "10.5.0.14", hostname: "cp-4", config: TalosPeerFixture.machineConfig(role: .controlPlane, cluster: fixture.cluster, secrets: fixture.secrets))
            try await backend.join("cp-4")
            let members = try await fixture.client.etcdMembers(via: fixture.controlPlanes[0])
            let joined = try #require(members.first { $0.hostname == "cp-4" })
            #expect(joined.id == id)
            #expect(!joined.isLearner)
            #expect(members.count == 4)
            #expect(try await etcd.get("/registry/pods/default/web", via: "cp-4") == "payload")
        }
    }

    @Test("a node leaves etcd by itself: its member goes, its etcd stops and its data is wiped")
    func leave() async throws {
        try await withCluster(timings: TalosPeerEtcd.Timings(leaveRetry: .seconds(15))) { fixture, backend in
            try await fixture.client.leaveEtcd(fixture.controlPlanes[2])
            #expect(try await fixture.client.etcdMembers(via: fixture.controlPlanes[0]).map(\.hostname).sorted() == ["cp-1", "cp-2"])
            #expect(!backend.etcd.isRunning("cp-3"))
            #expect(!backend.etcd.hasData("cp-3"))
            do {
                _ = try await fixture.client.etcdSnapshot(via: fixture.controlPlanes[2], to: backend.etcd.directory + "/left.db")
                Issue.record("a node that left etcd served a snapshot")
            } catch {
                #expect(message(error).contains("etcd is not running on this node"), "\(message(error))")
            }
        }
    }

    @Test("a snapshot streamed over the wire is one etcd accepts and restores")
    func snapshotAndRestore() async throws {
        try await withCluster { fixture, backend in
            let etcd = backend.etcd
            for index in 0..<50 { try await etcd.put("/registry/configmaps/default/cm-\(index)", "value-\(index)", via: "cp-2") }
            let path = etcd.directory + "/db.snapshot"
            let info = try await fixture.client.etcdSnapshot(via: fixture.controlPlanes[0], to: path)
            #expect(info.size % 512 == 32)
            #expect(info.size > 1024, "several 1024-byte chunks")
            let status = try EtcdTestCluster.snapshotStatus(path)
            #expect(status.revision >= 51)
            #expect(status.totalKey >= 50)
            #expect(status.totalSize + 32 == info.size)
            // clusterctl's own reading of the file agrees with etcd's.
            let check = try EtcdSnapshotCheck.read(path)
            #expect(check.intact)
            #expect(check.revision == status.revision)
            // A new single-member etcd restored from it (hash checked by etcdctl) has the data.
            let restored = try EtcdTestCluster()
            defer { restored.shutdown() }
            try await restored.restore(snapshot: path, as: "new-1")
            #expect(try await restored.get("/registry/configmaps/default/cm-49", via: "new-1") == "value-49")
            #expect(try await restored.members(via: "new-1").map(\.name) == ["new-1"])
        }
    }

    @Test("disaster recovery over the wire: EtcdRecover, bootstrap with recover_etcd, the others join")
    func recoverOverTheWire() async throws {
        try await withCluster { fixture, backend in
            let etcd = backend.etcd
            try await etcd.put("/registry/secrets/default/keep", "me", via: "cp-1")
            let path = etcd.directory + "/backup.snapshot"
            _ = try await fixture.client.etcdSnapshot(via: fixture.controlPlanes[1], to: path)
            // Every control plane lost its etcd: rebuilt machines with the same config and empty disks.
            for name in ["cp-1", "cp-2", "cp-3"] { etcd.wipe(name) }
            let cp1 = fixture.controlPlanes[0]
            try await fixture.client.etcdRecover(cp1, from: path)
            #expect(try await fixture.client.bootstrap(cp1, recoverFromSnapshot: true) == .bootstrapped)
            await backend.waitForJoins()
            for node in fixture.controlPlanes { #expect(backend.failure(of: node.addresses[0]) == nil) }
            let members = try await fixture.client.etcdMembers(via: cp1)
            #expect(members.map(\.hostname).sorted() == ["cp-1", "cp-2", "cp-3"])
            #expect(members.allSatisfy { !$0.isLearner })
            #expect(try await etcd.get("/registry/secrets/default/keep", via: "cp-3") == "me")
            // A second bootstrap finds etcd data: AlreadyExists.
            #expect(try await fixture.client.bootstrap(cp1, recoverFromSnapshot: true) == .alreadyBootstrapped)
        }
    }

    @Test("a recovery from a corrupted snapshot fails the etcd service, as Talos reports it")
    func recoverCorrupt() async throws {
        try await withCluster(controlPlanes: 1) { fixture, backend in
            let etcd = backend.etcd
            let path = etcd.directory + "/backup.snapshot"
            _ = try await fixture.client.etcdSnapshot(via: fixture.controlPlanes[0], to: path)
            var bytes = try #require(FileManager.default.contents(atPath: path))
            bytes[100] ^= 0xff
            try bytes.write(to: URL(fileURLWithPath: path))
            etcd.wipe("cp-1")
            let cp1 = fixture.controlPlanes[0]
            try await fixture.client.etcdRecover(cp1, from: path)
            #expect(try await fixture.client.bootstrap(cp1, recoverFromSnapshot: true) == .bootstrapped)
            await backend.waitForJoins()
            let failure = try #require(backend.failure(of: cp1.addresses[0]))
            #expect(failure.hasPrefix("expected sha256"), "\(failure)")
            let service = try #require(try await fixture.client.services(of: cp1).first { $0.id == "etcd" })
            #expect(service.state == "Failed")
        }
    }

    @Test("EtcdRecovery refuses while etcd works, then restores a lost control plane over the wire")
    func recoveryOperation() async throws {
        try await withCluster { fixture, backend in
            let etcd = backend.etcd
            try await etcd.put("/registry/namespaces/prod", "kept", via: "cp-2")
            let path = etcd.directory + "/backup.snapshot"
            _ = try await fixture.client.etcdSnapshot(via: fixture.controlPlanes[0], to: path)
            let recovery = EtcdRecovery(talos: fixture.client, time: SystemTimeSource(), pollInterval: .milliseconds(200), joinTimeout: .seconds(60))
            do {
                _ = try await recovery.plan(controlPlanes: fixture.controlPlanes, from: path)
                Issue.record("a restore was planned while etcd works")
            } catch let error as ClusterError {
                #expect(error.code == .refused)
                #expect(error.message.contains("this is not a disaster"), "\(error.message)")
            }
            // A damaged snapshot is refused before anything is touched.
            var bytes = try #require(FileManager.default.contents(atPath: path))
            bytes[bytes.count - 1] ^= 0x01
            let damaged = etcd.directory + "/damaged.snapshot"
            try bytes.write(to: URL(fileURLWithPath: damaged))
            for name in ["cp-1", "cp-2", "cp-3"] { etcd.wipe(name) }
            do {
                _ = try await recovery.recover(controlPlanes: fixture.controlPlanes, from: damaged)
                Issue.record("a damaged snapshot was restored")
            } catch let error as ClusterError {
                #expect(error.message.contains("not an intact etcd snapshot"), "\(error.message)")
            }
            #expect(fixture.peer.bootstrapCount == 0)
            let steps = try await recovery.recover(controlPlanes: fixture.controlPlanes, from: path)
            #expect(steps.filter { $0.action.contains("Bootstrap recover_etcd") }.map(\.node) == ["cp-1"])
            #expect(fixture.peer.bootstrapCount == 1, "exactly one recovering bootstrap")
            let members = try await fixture.client.etcdMembers(via: fixture.controlPlanes[2])
            #expect(members.map(\.hostname).sorted() == ["cp-1", "cp-2", "cp-3"])
            #expect(try await etcd.get("/registry/namespaces/prod", via: "cp-3") == "kept")
        }
    }
}
