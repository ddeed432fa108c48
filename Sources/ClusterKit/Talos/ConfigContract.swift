/// Which machine-config layout a Talos version reads.
///
/// Talos 1.14 split the classic `v1alpha1` document into a slim `v1alpha1` document followed by
/// separate documents (`KubeClusterConfig`, `DiscoveryIdentityConfig`, `KubeAPIServerCAConfig`,
/// ...); see the `v1.13`/`v1.14` stability test data in siderolabs/talos
/// `pkg/machinery/config/types/v1alpha1/testdata/stability/`.
public enum ConfigContract: String, Sendable, Hashable, CaseIterable {
    /// Talos 1.13 and earlier: one `v1alpha1` document carrying machine and cluster settings,
    /// plus the few documents that never lived in it (`HostnameConfig`, `KubeSpanConfig`).
    case classic
    /// Talos 1.14 and later.
    case multiDocument

    public init(talosVersion: SemanticVersion) {
        self = talosVersion >= SemanticVersion(major: 1, minor: 14, patch: 0) ? .multiDocument : .classic
    }
}
