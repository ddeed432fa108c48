import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

/// One contract for every ``Provisioner`` backend (the Hetzner and Proxmox API models over real
/// libcurl, the real libvirtd over a real sshd, the simulator), on what the planner and executor
/// rely on: a machine carries its identity, listing is the single source of truth, a create sent
/// twice never makes two machines, and deleting a machine that is gone succeeds. It reuses the
/// power contract's backends (``PowerBackend``), which bring one machine up on each.
@Suite("Provisioner contract", .serialized)
struct ProvisionerContractTests {
    @Test("a created machine is listed with its identity, once; another cluster does not see it", arguments: PowerBackend.allCases.filter(\.isAvailable))
    func listedWithIdentity(_ backend: PowerBackend) async throws {
        try await backend.run { subject in
            let provisioner = subject.provisioner
            let identity = subject.machine.identity
            let listed = try await provisioner.listMachines(cluster: identity.cluster)
            #expect(listed.map(\.providerID) == [subject.machine.providerID])
            let machine = try #require(listed.first)
            #expect(machine.identity == identity)
            #expect(machine.provider == provisioner.name)
            #expect(machine.phase == .running)
            #expect(try await provisioner.listMachines(cluster: identity.cluster + "-other").isEmpty)
        }
    }

    @Test("the same create sent again returns the machine that exists, never a second one", arguments: PowerBackend.allCases.filter(\.isAvailable))
    func createIsIdempotent(_ backend: PowerBackend) async throws {
        try await backend.run { subject in
            let again = try await subject.createAgain()
            #expect(again.providerID == subject.machine.providerID)
            #expect(again.identity == subject.machine.identity)
            let named = try await subject.provisioner.listMachines(cluster: subject.machine.identity.cluster)
                .filter { $0.identity.node == subject.machine.identity.node }
            #expect(named.count == 1, "machines named \(subject.machine.identity.node): \(named.map(\.providerID))")
        }
    }

    @Test("delete removes the machine from the listing; deleting it again succeeds", arguments: PowerBackend.allCases.filter(\.isAvailable))
    func deleteIsIdempotent(_ backend: PowerBackend) async throws {
        try await backend.run { subject in
            let provisioner = subject.provisioner
            try await provisioner.deleteMachine(subject.machine)
            #expect(try await subject.eventually { try await subject.listed() == nil })
            try await provisioner.deleteMachine(subject.machine)
            #expect(try await provisioner.listMachines(cluster: subject.machine.identity.cluster).isEmpty)
        }
    }
}
