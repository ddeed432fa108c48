import Foundation

/// Shared spec text for the spec tests.
enum SpecFixtures {
    /// The repository root (holds clusters/ and images/), found from this file's path.
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// A small valid spec: 3 control planes on three sites (hcloud/fsn1, hcloud/hel1, kvm), two
    /// home workers, a floating-IP endpoint and drills. Loads with no errors and no warnings.
    /// Bad-spec cases replace single lines, so keep line numbers stable when editing.
    static let base = """
        name: t
        talos:
          version: v1.13.9
          image: default
        kubernetes:
          version: v1.36.0
        endpoint:
          floatingIP: ingress
        network:
          podCIDRs: [10.244.0.0/16]
          serviceCIDRs: [10.96.0.0/12]
          kubeSpan: true
        providers:
          - name: hcloud
            type: hetzner
            tokenEnv: HCLOUD_TOKEN
            locations: [fsn1, hel1, nbg1]
            network: {name: t, ipRange: 10.0.0.0/16, subnet: 10.0.1.0/24, zone: eu-central}
          - name: kvm
            type: libvirt
            ssh: {host: kvm.lan, user: me, keyFile: ~/.ssh/id_ed25519}
        pools:
          - name: cp
            role: controlplane
            provider: hcloud
            count: 2
            locations: [fsn1, hel1]
            size: {serverType: cx32}
          - name: cp-home
            role: controlplane
            provider: kvm
            count: 1
            size: {cpus: 2, memory: 4GiB}
          - name: big
            role: worker
            provider: kvm
            count: 2
            size: {cpus: 8, memory: 32GiB}
        failover:
          ingressIP: {name: ingress, provider: hcloud, candidatePools: [cp]}
        drills:
          schedule: "0 3 * * 0"
          scenarios: [lose-controlplane, lose-worker, move-ingress-ip]
          heartbeatURLEnv: HB_URL

        """

    /// `base` with 1-based lines replaced (a replacement may hold several lines or none).
    static func base(replacing replacements: [Int: String]) -> String {
        var lines = base.components(separatedBy: "\n")
        for (line, text) in replacements.sorted(by: { $0.key > $1.key }) {
            lines.replaceSubrange((line - 1)...(line - 1), with: text.isEmpty ? [] : text.components(separatedBy: "\n"))
        }
        return lines.joined(separator: "\n")
    }
}
