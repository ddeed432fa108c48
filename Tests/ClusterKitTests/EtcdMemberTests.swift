import ClusterKit
import Testing

/// Which node an etcd member belongs to: by name, or by its peer URL while it has no name.
@Suite struct EtcdMemberTests {
    @Test func aNamedMemberBelongsToTheNodeOfThatNameOnly() {
        let member = EtcdMember(id: 1, hostname: "cp-2", peerURLs: ["https://10.0.0.3:2380"])
        #expect(member.belongs(to: "cp-2", addresses: []))
        // The name wins over the address: a replacement may reuse an old address.
        #expect(!member.belongs(to: "cp-3", addresses: ["10.0.0.3"]))
    }

    @Test func aMemberWithNoNameBelongsToTheMachineAtItsPeerAddress() {
        let unstarted = EtcdMember(id: 2, hostname: "", peerURLs: ["https://10.0.0.4:2380"], isLearner: true)
        #expect(unstarted.belongs(to: "cp-4", addresses: ["192.168.1.9", "10.0.0.4"]))
        #expect(!unstarted.belongs(to: "cp-4", addresses: ["10.0.0.40"]))
        #expect(!unstarted.belongs(to: "cp-4", addresses: []))
        let six = EtcdMember(id: 3, hostname: "", peerURLs: ["https://[fd00:10::4]:2380"], isLearner: true)
        #expect(six.belongs(to: "cp-4", addresses: ["fd00:10::4"]))
        #expect(!six.belongs(to: "cp-4", addresses: ["fd00:10::40"]))
    }

    @Test func theIDIsPrintedAsTalosctlDoesWithLeadingZeros() {
        #expect(EtcdMember(id: 0x0ade81f11ee6af3b, hostname: "").hexID == "0ade81f11ee6af3b")
    }
}
