import ClusterKit
import Testing

@Suite struct ClientConfigMergeTests {
    static let kubeconfig = """
        apiVersion: v1
        kind: Config
        clusters:
          - name: wire
            cluster:
              server: https://127.0.0.1:6443
              certificate-authority-data: Q0E=
        users:
          - name: admin@wire
            user:
              client-certificate-data: Q1JU
              client-key-data: S0VZ
        contexts:
          - name: admin@wire
            context:
              cluster: wire
              user: admin@wire
        current-context: admin@wire

        """

    @Test func kubeconfigKeepsOtherContextsAndReplacesItsOwn() throws {
        let existing = """
            apiVersion: v1
            kind: Config
            preferences: {}
            clusters:
              - name: work
                cluster:
                  server: https://work.example:6443
              - name: wire
                cluster:
                  server: https://old.example:6443
            users:
              - name: me@work
                user:
                  token: abc
            contexts:
              - name: me@work
                context:
                  cluster: work
                  user: me@work
            current-context: me@work

            """
        let merged = try YAMLTree.parse(try ClientConfigMerge.kubeconfig(Self.kubeconfig, into: existing, path: "~/.kube/config"))
        guard case .sequence(let clusters)? = merged["clusters"], case .sequence(let users)? = merged["users"],
            case .sequence(let contexts)? = merged["contexts"]
        else {
            Issue.record("lists missing: \(merged)")
            return
        }
        #expect(clusters.compactMap { $0["name"]?.stringValue } == ["work", "wire"])
        #expect(clusters[1].value(at: ["cluster", "server"])?.stringValue == "https://127.0.0.1:6443")
        #expect(users.compactMap { $0["name"]?.stringValue } == ["me@work", "admin@wire"])
        #expect(users[0].value(at: ["user", "token"])?.stringValue == "abc")
        #expect(contexts.compactMap { $0["name"]?.stringValue } == ["me@work", "admin@wire"])
        #expect(merged["current-context"]?.stringValue == "admin@wire")
        #expect(merged["preferences"] != nil)
    }

    @Test func kubeconfigIntoNoFileIsTheClusterOwn() throws {
        let merged = try YAMLTree.parse(try ClientConfigMerge.kubeconfig(Self.kubeconfig, into: nil, path: "~/.kube/config"))
        #expect(merged == (try YAMLTree.parse(Self.kubeconfig)))
    }

    @Test func talosconfigKeepsOtherContexts() throws {
        let existing = "context: lab\ncontexts:\n  lab:\n    endpoints: [192.168.20.11]\n    ca: Q0E=\n"
        let new = "context: wire\ncontexts:\n  wire:\n    endpoints: [127.0.0.10]\n    ca: Q0I=\n"
        let merged = try YAMLTree.parse(try ClientConfigMerge.talosconfig(new, into: existing, path: "~/.talos/config"))
        #expect(merged["context"]?.stringValue == "wire")
        #expect(merged.value(at: ["contexts", "lab", "ca"])?.stringValue == "Q0E=")
        #expect(merged.value(at: ["contexts", "wire", "ca"])?.stringValue == "Q0I=")
    }

    @Test func aFileThatIsNotAConfigIsLeftAlone() {
        #expect(throws: ClusterError.self) {
            try ClientConfigMerge.kubeconfig(Self.kubeconfig, into: "- just\n- a list\n", path: "~/.kube/config")
        }
    }
}
